"""Integrators sending callers to the survey: a live call redirected into it (a CTI button), or a
caller called back for the survey they missed (an outbound call, a row from the start).

Contract: every URL handed to Twilio comes from configuration (ivr.services.links); a call is
never dialled twice; consent is checked when asked and again when the call is placed.
"""
