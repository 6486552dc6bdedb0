DROP INDEX code_batches_by_digest;
