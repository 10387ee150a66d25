"""Consent and privacy: who may be surveyed (the do-not-survey list, once in N days) and what is
kept about callers (numbers matched by a keyed hash, shown masked, purged after retention).

Contract: numbers are compared only through number_hash(); the list never stores a number.
"""
