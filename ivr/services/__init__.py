"""The domain, in five packages; each public function owns its transaction.

    conversation/   a caller taking the survey: start, answer, close, the front door, recordings
    closed_loop/    what a finished response sets off: score, feedback, callback task, notification
    call_control/   integrators sending callers to the survey: live transfers, outbound calls
    consent/        who may be surveyed, and what is kept about callers (privacy, retention)
    organisation/   who works where: agents, teams, supervisors; API keys
    insight/        read side: responses as stored, report queries

Services raise the domain errors of ivr.services.errors; the voice views, the API and the CLI
translate them into TwiML, HTTP statuses and exit codes. Background work is asked for with
ivr.outbox.later(), never by importing ivr.jobs. URLs for Twilio come from ivr.services.links.
"""
