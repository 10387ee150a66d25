"""Who works where: agents, teams and their supervisors (who gets callback tasks and feedback),
and the API keys integrators use.

Contract: saving sets the fields given (None keeps, "" clears) and refuses unknown names with a
domain error.
"""
