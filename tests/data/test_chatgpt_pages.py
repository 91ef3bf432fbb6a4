"""The ChatGPT upload: a background job the page follows, with and without JavaScript."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest

from calango.extensions import db
from calango.services.imports.jobs import wait_for_jobs
from tests.data.conftest import counts
from tests.fakes.chatgpt_export import linear
from tests.helpers import csrf_token_from

PAGE = "/settings/data/"


def _export(n: int = 3) -> bytes:
    return json.dumps([linear(f"c{i}", f"Chat {i}", ["q", "a"]) for i in range(n)]).encode()


def _upload(client, raw: bytes, name: str = "conversations.json"):
    token = csrf_token_from(client, PAGE)
    return client.post(
        "/settings/data/import-chatgpt",
        data={"csrf_token": token, "file": (io.BytesIO(raw), name)},
        content_type="multipart/form-data",
    )


def test_upload_starts_a_job_and_its_page_shows_the_result(app, client):
    response = _upload(client, _export())
    assert response.status_code == 303
    job_url = response.headers["Location"]
    assert re.search(r"/settings/data/jobs/[0-9a-f-]{36}$", job_url)
    wait_for_jobs()

    page = client.get(job_url).get_data(as_text=True)
    assert "Import finished" in page and "Imported: 3 chats, 6 messages." in page
    assert 'http-equiv="refresh"' not in page
    assert client.get(job_url + ".json").get_json() == {
        "status": "done",
        "percent": 100,
        "finished": True,
    }
    # The same export again: nothing new.
    again = _upload(client, _export())
    wait_for_jobs()
    assert "Nothing new to import" in client.get(again.headers["Location"]).get_data(as_text=True)
    with app.app_context():
        assert counts()["chats"] == 3
        db.session.remove()
    # The saved upload is removed once imported.
    assert not list((Path(app.config["CALANGO_HOME"]) / "imports").glob("*.upload"))


def test_a_failing_job_shows_why_and_writes_nothing(app, client):
    truncated = _export(5)[:-300]
    response = _upload(client, truncated)
    assert response.status_code == 303
    wait_for_jobs()
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "conversations.json: The file ends too early" in page
    with app.app_context():
        assert counts()["chats"] == 0
        db.session.remove()


def test_a_zip_without_conversations_is_refused_at_once(app, client):
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as zf:
        zf.writestr("notes.txt", "hello")
    response = _upload(client, buffer.getvalue(), "export.zip")
    assert response.status_code == 400
    assert "export.zip: The zip file has no conversations.json" in response.get_data(as_text=True)


def _job(app, minutes_ago: int) -> str:
    from datetime import timedelta

    from calango.models import ImportJob
    from calango.models.types import utcnow

    with app.app_context():
        job = ImportJob(
            kind="chatgpt",
            filename="big.zip",
            status="running",
            total_bytes=100,
            done_bytes=40,
            updated_at=utcnow() - timedelta(minutes=minutes_ago),
        )
        db.session.add(job)
        db.session.commit()
        db.session.remove()
        return f"/settings/data/jobs/{job.id}"


def test_a_job_nobody_runs_any_more_is_reported_stopped(app, client):
    page = client.get(_job(app, minutes_ago=10)).get_data(as_text=True)
    assert "The import stopped" in page and 'http-equiv="refresh"' not in page


def test_a_job_running_in_another_worker_page_refreshes_itself(app, client, backend):
    # On PostgreSQL another worker may run it (it writes its progress about once a second);
    # on SQLite the import holds the only write lock, so a job is followed by its own process.
    page = client.get(_job(app, minutes_ago=0)).get_data(as_text=True)
    if backend == "postgresql":
        assert 'http-equiv="refresh" content="2"' in page
        assert '<progress id="job-progress" max="100" value="40"' in page
        assert "40% read" in page
    else:
        assert "The import stopped" in page


def test_unknown_job_is_404(client):
    assert client.get("/settings/data/jobs/00000000-0000-0000-0000-000000000000").status_code == 404


@pytest.mark.browser
def test_browser_upload_follows_the_progress(app, live_server, page, tmp_path):
    big = tmp_path / "conversations.json"
    big.write_bytes(
        json.dumps(
            [linear(f"b{i}", f"Browser {i}", ["q" * 2000, "a" * 2000]) for i in range(300)]
        ).encode()
    )
    page.goto(f"{live_server.url}{PAGE}")
    page.set_input_files("form.chatgpt-import-form input[type=file]", str(big))
    page.click("form.chatgpt-import-form [type=submit]")
    page.wait_for_url(re.compile(r"/settings/data/jobs/"))
    page.wait_for_selector("text=Import finished", timeout=30_000)
    assert "Imported: 300 chats, 600 messages." in page.content()
    wait_for_jobs()


def test_a_2_gb_upload_is_refused_before_it_is_read(app, live_server):
    import http.client

    # Only the headers and a few bytes are sent: the answer must come from Content-Length.
    connection = http.client.HTTPConnection("127.0.0.1", live_server.port, timeout=10)
    connection.putrequest("POST", "/settings/data/import-chatgpt")
    connection.putheader("Content-Type", "multipart/form-data; boundary=x")
    connection.putheader("Content-Length", str(2 * 1024**3))
    connection.endheaders(b"--x\r\n")
    response = connection.getresponse()
    assert response.status == 413
    assert "larger than this server accepts" in response.read().decode()
    connection.close()
