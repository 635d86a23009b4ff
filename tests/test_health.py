"""The health check answers without a session and without touching the database."""


def test_healthz_is_public_and_plain(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.data == b"ok"
    assert response.mimetype == "text/plain"


def test_healthz_runs_no_sql(app, client, query_counter):
    with query_counter() as statements:
        client.get("/healthz")
    assert statements == []
