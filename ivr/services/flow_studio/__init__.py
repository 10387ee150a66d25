"""The flow studio: drafts, checks, publishing, rollback, diffs and the audit log of call flows
(drafts.py), and the files they are seeded from and exported to (files.py)."""
