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
	`queue_enabled` boolean NOT NULL DEFAULT false,
	`queue_rate_per_minute` int NOT NULL DEFAULT 100,
	`queue_active_cap` int NOT NULL DEFAULT 1000,
	`queue_opens_at` datetime(3),
	`queue_epoch` int NOT NULL DEFAULT 0,
	`waitlist_offer_minutes` int NOT NULL DEFAULT 30,
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `festivals_id` PRIMARY KEY(`id`)
);
--> statement-breakpoint
CREATE TABLE `notifications` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`type` varchar(40) NOT NULL,
	`title` varchar(200) NOT NULL,
	`body` varchar(1000) NOT NULL,
	`data` json,
	`dedupe_key` varchar(191),
	`read_at` datetime(3),
	`push_claimed_at` datetime(3),
	`pushed_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	CONSTRAINT `notifications_id` PRIMARY KEY(`id`),
	CONSTRAINT `notifications_user_dedupe_uq` UNIQUE(`user_id`,`dedupe_key`)
);
--> statement-breakpoint
CREATE TABLE `push_devices` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`token` varchar(512) NOT NULL,
	`platform` enum('android','ios','web'),
	`created_at` datetime(3) NOT NULL,
	`last_seen_at` datetime(3) NOT NULL,
	CONSTRAINT `push_devices_id` PRIMARY KEY(`id`),
	CONSTRAINT `push_devices_token_uq` UNIQUE(`token`)
);
--> statement-breakpoint
CREATE TABLE `reminder_deliveries` (
	`reservation_id` bigint unsigned NOT NULL,
	`offset_hours` int NOT NULL,
	`status` enum('claimed','sent','skipped') NOT NULL,
	`claim_id` varchar(36) NOT NULL,
	`claimed_at` datetime(3) NOT NULL,
	`attempts` int NOT NULL DEFAULT 1,
	`done_at` datetime(3),
	CONSTRAINT `reminder_deliveries_reservation_id_offset_hours_pk` PRIMARY KEY(`reservation_id`,`offset_hours`)
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
CREATE TABLE `waitlist_entries` (
	`id` bigint unsigned AUTO_INCREMENT NOT NULL,
	`festival_id` bigint unsigned NOT NULL,
	`user_id` bigint unsigned NOT NULL,
	`day` date NOT NULL,
	`quantity` int NOT NULL,
	`held_quantity` int NOT NULL DEFAULT 0,
	`status` enum('waiting','offered','claimed','expired','left','cancelled') NOT NULL,
	`live` tinyint,
	`offered_at` datetime(3),
	`offer_expires_at` datetime(3),
	`reminded_at` datetime(3),
	`reservation_id` bigint unsigned,
	`closed_at` datetime(3),
	`created_at` datetime(3) NOT NULL,
	`updated_at` datetime(3) NOT NULL,
	CONSTRAINT `waitlist_entries_id` PRIMARY KEY(`id`),
	CONSTRAINT `waitlist_live_uq` UNIQUE(`festival_id`,`user_id`,`day`,`live`)
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
CREATE INDEX `notifications_user_idx` ON `notifications` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `notifications_user_unread_idx` ON `notifications` (`user_id`,`read_at`);--> statement-breakpoint
CREATE INDEX `notifications_push_pending_idx` ON `notifications` (`pushed_at`,`created_at`);--> statement-breakpoint
CREATE INDEX `push_devices_user_idx` ON `push_devices` (`user_id`);--> statement-breakpoint
CREATE INDEX `reminder_deliveries_status_idx` ON `reminder_deliveries` (`status`,`claimed_at`);--> statement-breakpoint
CREATE INDEX `reservations_user_idx` ON `reservations` (`user_id`,`id`);--> statement-breakpoint
CREATE INDEX `reservations_user_status_idx` ON `reservations` (`user_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `reservations_festival_idx` ON `reservations` (`festival_id`,`id`);--> statement-breakpoint
CREATE INDEX `reservations_festival_status_idx` ON `reservations` (`festival_id`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `waitlist_line_idx` ON `waitlist_entries` (`festival_id`,`day`,`status`,`id`);--> statement-breakpoint
CREATE INDEX `waitlist_expiry_idx` ON `waitlist_entries` (`status`,`offer_expires_at`);--> statement-breakpoint
CREATE INDEX `waitlist_user_idx` ON `waitlist_entries` (`user_id`,`status`);