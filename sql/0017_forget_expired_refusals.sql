-- 0017: a command refused because it expired in the queue can be retried with the same command_id.
--
-- Before, a command whose caller's deadline passed before it ran was stored as ABORTED ("the command expired
-- before it ran and was not applied; send it again with a new command_id"), so a retry with the same id, the
-- retry the gateway's DEADLINE_EXCEEDED recommends, was refused for good. Such a command is now skipped and
-- nothing is stored. Those stored refusals wrote nothing else (no state, no event), so forgetting them makes
-- the next retry apply the command once, like any command never applied.
DELETE FROM command_results
 WHERE result ->> 'ok' = 'false'
   AND result -> 'error' ->> 'code' = 'ABORTED'
   AND result -> 'error' ->> 'message' LIKE 'the command expired before it ran and was not applied%';
