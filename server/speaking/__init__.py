"""The speaking-time service: the live ledgers of this process, fairness cues to the
facilitators, the report after a session, and their wire bodies."""
