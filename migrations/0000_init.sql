CREATE TABLE `chat_members` (
	`festival_id` bigint unsigned NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`read_seq` int unsigned NOT NULL DEFAULT 0,
	`joined_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_members_festival_id_user_id_pk` PRIMARY KEY(`festival_id`,`user_id`)
);
--> statement-breakpoint
CREATE TABLE `chat_rooms` (
	`festival_id` bigint unsigned NOT NULL,
	`last_seq` int unsigned NOT NULL DEFAULT 0,
	`last_message` json,
	`member_count` int unsigned NOT NULL DEFAULT 0,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `chat_rooms_festival_id` PRIMARY KEY(`festival_id`)
);
--> statement-breakpoint
CREATE TABLE `festival_days` (
	`festival_id` bigint unsigned NOT NULL,
	`day` date NOT NULL,
	`capacity` int NOT NULL,
	`reserved` int NOT NULL DEFAULT 0,
	`held` int NOT NULL DEFAULT 0,
	CONSTRAINT `festival_days_festival_id_day_pk` PRIMARY KEY(`festival_id`,`day`)
);
--> statement-breakpoint
CREATE TABLE `festival_search_grams` (
	`gram` varchar(2) character set utf8mb4 collate utf8mb4_bin NOT NULL,
	`festival_id` bigint unsigned NOT NULL,
	CONSTRAINT `festival_search_grams_gram_festival_id_pk` PRIMARY KEY(`gram`,`festival_id`)
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
	`starts_at` datetime(3) NOT NULL,
	`ends_at` datetime(3) NOT NULL,
	`per_user_limit` int NOT NULL,
	`sale_opens_at` datetime(3) NOT NULL,
	`sale_closes_at` datetime(3) NOT NULL,
	`image_url` varchar(500),
	`tags` json NOT NULL,
	`cancelled_at` datetime(3),
	`cancel_reason` varchar(500),
	`reserved_count` int NOT NULL DEFAULT 0,
	`search_title` varchar(200) character set utf8mb4 collate utf8mb4_bin NOT NULL,
	`search_text` text character set utf8mb4 collate utf8mb4_bin NOT NULL,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `festivals_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `reservation_user_totals` (
	`festival_id` bigint unsigned NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`quantity` int NOT NULL DEFAULT 0,
	CONSTRAINT `reservation_user_totals_festival_id_user_id_pk` PRIMARY KEY(`festival_id`,`user_id`)
);
--> statement-breakpoint
CREATE TABLE `reservations` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`festival_id` bigint unsigned NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`day` date NOT NULL,
	`quantity` int NOT NULL,
	`status` enum('confirmed','cancelled','checked_in') NOT NULL,
	`confirmed_at` datetime(3) NOT NULL,
	`cancelled_at` datetime(3),
	`cancel_reason` enum('user','festival_cancelled','account_deleted'),
	`checked_in_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `reservations_id` PRIMARY KEY(`id`)
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
CREATE INDEX `chat_members_user_idx` ON `chat_members` (`user_id`,`festival_id`);--> statement-breakpoint
CREATE INDEX `festival_search_grams_festival_idx` ON `festival_search_grams` (`festival_id`);--> statement-breakpoint
CREATE INDEX `festivals_start_idx` ON `festivals` (`start_date`,`id`);--> statement-breakpoint
CREATE INDEX `festivals_category_idx` ON `festivals` (`category`,`start_date`,`id`);--> statement-breakpoint
CREATE INDEX `festivals_region_idx` ON `festivals` (`region`,`start_date`,`id`);--> statement-breakpoint
CREATE INDEX `festivals_popularity_idx` ON `festivals` (`reserved_count`,`id`);--> statement-breakpoint
CREATE INDEX `festivals_geo_idx` ON `festivals` (`lat`,`lng`);--> statement-breakpoint
CREATE INDEX `festivals_ends_idx` ON `festivals` (`ends_at`);--> statement-breakpoint
CREATE INDEX `reservations_user_idx` ON `reservations` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `reservations_user_status_idx` ON `reservations` (`user_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `reservations_festival_idx` ON `reservations` (`festival_id`,`id`);--> statement-breakpoint
CREATE INDEX `reservations_festival_status_idx` ON `reservations` (`festival_id`,`status`,`id`);