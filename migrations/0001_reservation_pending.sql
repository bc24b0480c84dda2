ALTER TABLE `reservations` MODIFY COLUMN `status` enum('pending','confirmed','cancelled','checked_in') NOT NULL;--> statement-breakpoint
ALTER TABLE `reservations` ADD `idempotency_key` char(64);--> statement-breakpoint
ALTER TABLE `reservations` ADD `request_hash` char(64);--> statement-breakpoint
ALTER TABLE `reservations` ADD CONSTRAINT `reservations_idempotency_uq` UNIQUE(`user_id`,`idempotency_key`);--> statement-breakpoint
CREATE INDEX `reservations_status_created_idx` ON `reservations` (`status`,`created_at`);