"""The read side: responses with everything a reader needs, and report queries (distributions
and extremes, never only an average) computed in SQL over the scores fact table.

Contract: reads only; nothing here writes or commits.
"""
