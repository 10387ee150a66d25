"""The fallback answers an apology even with the database down; so does any failing webhook."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from twilio.request_validator import RequestValidator

from ivr import create_app
from tests.helpers import AUTH_TOKEN, make_settings, says
from tests.local_servers import free_port


def test_fallback_and_survey_answer_an_apology_with_the_database_down(tmp_path: Path) -> None:
    dead = f"postgresql+psycopg://postgres@127.0.0.1:{free_port()}/nowhere?connect_timeout=1"
    app = create_app(make_settings(dead, tmp_path))
    client = app.test_client()
    validator = RequestValidator(AUTH_TOKEN)
    for path, form in [
        (
            "/voice/fallback?lang=es",
            {"CallSid": "CA1", "ErrorCode": "11200", "ErrorUrl": "https://x/voice/survey"},
        ),
        ("/voice/survey?agent=a", {"CallSid": "CA1"}),
    ]:
        signature = validator.compute_signature("http://localhost" + path, form)
        response = client.post(path, data=form, headers={"X-Twilio-Signature": signature})
        assert response.status_code == 200
        assert response.mimetype == "text/xml"
        document = ET.fromstring(response.get_data(as_text=True))
        assert len(says(document)) == 1
        assert [child.tag for child in document] == ["Say", "Hangup"]
    # The fallback spoke the caller's language.
    fallback = client.post(
        "/voice/fallback?lang=es",
        data={"CallSid": "CA1"},
        headers={
            "X-Twilio-Signature": validator.compute_signature(
                "http://localhost/voice/fallback?lang=es", {"CallSid": "CA1"}
            )
        },
    )
    assert "Lo sentimos" in fallback.get_data(as_text=True)
