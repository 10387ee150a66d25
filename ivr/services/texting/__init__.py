"""The survey by text message: the same flows, responses, scoring and callback tasks as by voice.

- invitations: who is invited by text after a call (per queue), and when;
- delivery: the invitation sent through Twilio's REST API, and every status callback recorded;
- conversation: the caller's replies (POST /sms/incoming), STOP and HELP, and what we text back.
"""
