CREATE TABLE `follow_ups` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`kind` varchar(40) NOT NULL,
	`payload` json NOT NULL,
	`due_at` datetime(3) NOT NULL,
	`attempts` int NOT NULL DEFAULT 0,
	`dedupe_key` varchar(191),
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `follow_ups_id` PRIMARY KEY(`id`),
	CONSTRAINT `follow_ups_dedupe_uq` UNIQUE(`dedupe_key`)
);
--> statement-breakpoint
CREATE TABLE `festival_staff` (
	`festival_id` bigint unsigned NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`granted_by` bigint unsigned NOT NULL,
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `festival_staff_festival_id_user_id_pk` PRIMARY KEY(`festival_id`,`user_id`)
);
--> statement-breakpoint
ALTER TABLE `reservations` MODIFY COLUMN `cancel_reason` enum('user','festival_cancelled','account_deleted','admin');--> statement-breakpoint
ALTER TABLE `users` ADD `session_version` int DEFAULT 0 NOT NULL;--> statement-breakpoint
CREATE INDEX `follow_ups_due_idx` ON `follow_ups` (`due_at`);--> statement-breakpoint
CREATE INDEX `festival_staff_user_idx` ON `festival_staff` (`user_id`);--> statement-breakpoint
CREATE INDEX `notifications_created_idx` ON `notifications` (`created_at`);