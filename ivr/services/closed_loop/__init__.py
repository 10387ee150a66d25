"""The closed loop: a finished response is scored, its agent gets feedback, an extreme low opens
a callback task with a deadline and escalation, and people are notified.

Contract: scoring commits the score, the feedback item, the task and the planned notifications in
one transaction and is safe to run any number of times; deliveries and deadlines are jobs asked
for in that transaction (ivr.outbox), so nothing is announced that was not committed.
"""
