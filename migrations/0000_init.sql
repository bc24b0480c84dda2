CREATE TABLE `festival_days` (
	`festival_id` bigint unsigned NOT NULL,
	`day` date NOT NULL,
	`capacity` int NOT NULL,
	`reserved` int NOT NULL DEFAULT 0,
	`held` int NOT NULL DEFAULT 0,
	CONSTRAINT `festival_days_festival_id_day_pk` PRIMARY KEY(`festival_id`,`day`)
);
--> statement-breakpoint
CREATE TABLE `festivals` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`title` varchar(200) NOT NULL,
	`description` text NOT NULL,
	`category` varchar(40) NOT NULL,
	`region` varchar(40) NOT NULL,
	`venue_name` varchar(200) NOT NULL,
	`venue_address` varchar(300) NOT NULL,
	`lat` double NOT NULL,
	`lng` double NOT NULL,
	`start_date` date NOT NULL,
	`end_date` date NOT NULL,
	`timezone` varchar(64) NOT NULL,
	`per_user_limit` int NOT NULL,
	`sale_opens_at` datetime(3) NOT NULL,
	`sale_closes_at` datetime(3) NOT NULL,
	`image_url` varchar(500),
	`tags` json NOT NULL,
	`cancelled_at` datetime(3),
	`reserved_count` int NOT NULL DEFAULT 0,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `festivals_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `users` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`email` varchar(254) NOT NULL,
	`nickname` varchar(40) NOT NULL,
	`password_hash` varchar(255) NOT NULL,
	`role` enum('user','admin') NOT NULL DEFAULT 'user',
	`notify_reminders` boolean NOT NULL DEFAULT true,
	`reminder_offsets_hours` json NOT NULL,
	`notify_chat` boolean NOT NULL DEFAULT true,
	`notify_festival_updates` boolean NOT NULL DEFAULT true,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	`deleted_at` datetime(3),
	CONSTRAINT `users_id` PRIMARY KEY(`id`),
	CONSTRAINT `users_email_uq` UNIQUE(`email`)
);
--> statement-breakpoint
CREATE INDEX `festivals_start_idx` ON `festivals` (`start_date`,`id`);--> statement-breakpoint
CREATE INDEX `festivals_category_idx` ON `festivals` (`category`);