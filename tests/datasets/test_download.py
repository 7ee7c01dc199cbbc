"""Downloads against a loopback HTTP server serving archives built by the test: resume after an
interrupted transfer, checksum failure, atomic rename, path traversal, and a whole dataset."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import numpy as np
import pytest
from typer.testing import CliRunner

from amr_bench.cli import app
from amr_bench.datasets.download import DownloadError, download_file, extract_tar
from amr_bench.datasets.npzio import npz_bytes
from amr_bench.errors import InputError

runner = CliRunner()


class Server:
    """Serves ``files`` (path -> bytes) with Range support; ``cut`` paths break the first transfer."""

    def __init__(self) -> None:
        self.files: dict[str, bytes] = {}
        self.cut: set[str] = set()
        self.ignore_range = False
        self.requests: list[tuple[str, str | None]] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output quiet
                pass

            def do_GET(self):
                path = self.path.split("?")[0]
                rng = self.headers.get("Range")
                outer.requests.append((path, rng))
                body = outer.files.get(path)
                if body is None:
                    self.send_error(404)
                    return
                start = 0
                if rng and not outer.ignore_range:
                    start = int(rng.removeprefix("bytes=").split("-")[0])
                    if start >= len(body):
                        self.send_error(416)
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if path in outer.cut:
                    outer.cut.discard(path)
                    self.wfile.write(chunk[: len(chunk) // 2])
                    self.wfile.flush()
                    self.close_connection = True
                    return
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self) -> Server:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.fixture
def server():
    with Server() as s:
        yield s


def _tar(members: dict[str, bytes], gz: bool = True) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz" if gz else "w") as tf:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tf.addfile(info, io.BytesIO(data))
    return buf.getvalue()


PAYLOAD = bytes(range(256)) * 400


def test_interrupted_transfer_resumes_with_range(server, tmp_path):
    server.files["/f.bin"] = PAYLOAD
    server.cut.add("/f.bin")
    dest = tmp_path / "f.bin"
    sha = hashlib.sha256(PAYLOAD).hexdigest()
    with pytest.raises(DownloadError, match="interrupted"):
        download_file(server.url + "/f.bin", dest, sha256=sha, retries=0, progress=False)
    part = tmp_path / "f.bin.part"
    assert not dest.exists() and 0 < part.stat().st_size < len(PAYLOAD)
    assert download_file(server.url + "/f.bin", dest, sha256=sha, progress=False)
    assert dest.read_bytes() == PAYLOAD and not part.exists()
    assert server.requests[-1] == ("/f.bin", f"bytes={len(PAYLOAD) // 2}-")
    # already complete and verified: nothing fetched
    n = len(server.requests)
    assert download_file(server.url + "/f.bin", dest, sha256=sha, progress=False) is False
    assert len(server.requests) == n


def test_retries_resume_within_one_call(server, tmp_path):
    server.files["/g.bin"] = PAYLOAD
    server.cut.add("/g.bin")
    md5 = hashlib.md5(PAYLOAD).hexdigest()
    assert download_file(server.url + "/g.bin", tmp_path / "g.bin", md5=md5, progress=False)
    assert (tmp_path / "g.bin").read_bytes() == PAYLOAD
    assert [r for _, r in server.requests] == [None, f"bytes={len(PAYLOAD) // 2}-"]


def test_server_ignoring_range_restarts_from_zero(server, tmp_path):
    server.files["/h.bin"] = PAYLOAD
    (tmp_path / "h.bin.part").write_bytes(b"garbage")
    server.ignore_range = True
    download_file(server.url + "/h.bin", tmp_path / "h.bin", sha256=hashlib.sha256(PAYLOAD).hexdigest(), progress=False)
    assert (tmp_path / "h.bin").read_bytes() == PAYLOAD


def test_wrong_checksum_leaves_nothing_that_looks_complete(server, tmp_path):
    server.files["/x.bin"] = PAYLOAD
    dest = tmp_path / "x.bin"
    with pytest.raises(DownloadError, match="sha256 mismatch"):
        download_file(server.url + "/x.bin", dest, sha256="0" * 64, progress=False)
    assert not dest.exists() and not (tmp_path / "x.bin.part").exists()
    with pytest.raises(DownloadError, match="md5 mismatch"):
        download_file(server.url + "/x.bin", dest, md5="0" * 32, progress=False)
    assert list(tmp_path.iterdir()) == []


def test_http_error_is_reported(server, tmp_path):
    with pytest.raises(DownloadError, match="HTTP 404"):
        download_file(server.url + "/missing", tmp_path / "m", retries=0, progress=False)


@pytest.mark.parametrize("evil", ["../evil.txt", "/tmp/amr-bench-evil.txt", "a/../../evil.txt"])
def test_traversal_entry_is_refused_before_anything_is_written(tmp_path, evil):
    archive = tmp_path / "a.tar.gz"
    archive.write_bytes(_tar({"clap/ok.npz": b"fine", evil: b"boom"}))
    dest = tmp_path / "out"
    with pytest.raises(InputError) as exc:
        extract_tar(archive, dest)
    assert evil in str(exc.value.problems[0])
    assert not dest.exists() and not (tmp_path / "evil.txt").exists()


def test_symlink_out_of_the_destination_is_refused(tmp_path):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        link = tarfile.TarInfo("clap/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "../../etc/passwd"
        tf.addfile(link)
    archive = tmp_path / "l.tar"
    archive.write_bytes(buf.getvalue())
    with pytest.raises(InputError, match="refused"):
        extract_tar(archive, tmp_path / "out")


def test_safe_archive_extracts(tmp_path):
    archive = tmp_path / "a.tar"
    archive.write_bytes(_tar({"clap/v.npz": b"1", "clap_text/qid1.npz": b"2"}, gz=False))
    files = extract_tar(archive, tmp_path / "out")
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in files) == ["clap/v.npz", "clap_text/qid1.npz"]


def _zenodo(server, record, files):
    entries = []
    for name, data in files.items():
        server.files[f"/files/{name}"] = data
        entries.append(
            {
                "key": name,
                "size": len(data),
                "checksum": "md5:" + hashlib.md5(data).hexdigest(),
                "links": {"self": server.url + f"/files/{name}"},
            }
        )
    server.files[f"/api/records/{record}"] = json.dumps({"files": entries}).encode()


def test_cli_downloads_a_whole_dataset(server, tmp_path):
    audio = npz_bytes({"features": np.zeros((3, 768), np.float32)})
    text = npz_bytes({"last_hidden_state": np.zeros((2, 768), np.float32)})
    _zenodo(
        server,
        "18358706",
        {
            "clap.tar.gz": _tar({"clap/v1.npz": audio}),
            "clap_text.tar.gz": _tar({"clap_text/qid1.npz": text}),
            "README.md": b"not wanted",
        },
    )
    server.cut.add("/files/clap.tar.gz")
    root = tmp_path / "castella"
    result = runner.invoke(
        app, ["datasets", "download", "castella", "--root", str(root), "--api", server.url + "/api", "--quiet"]
    )
    assert result.exit_code == 0, result.output
    assert (root / "clap" / "v1.npz").read_bytes() == audio
    assert (root / "clap_text" / "qid1.npz").read_bytes() == text
    assert {p.name for p in root.glob("*.jsonl")} == {"train.jsonl", "val.jsonl", "test.jsonl"}
    assert ("/files/README.md", None) not in server.requests
    again = runner.invoke(
        app, ["datasets", "download", "castella", "--root", str(root), "--api", server.url + "/api", "--quiet"]
    )
    assert again.exit_code == 0 and "already complete" in again.stdout


def test_cli_download_fails_clearly(server, tmp_path):
    _zenodo(server, "18358706", {"clap.tar.gz": _tar({"../evil": b"x"})})
    listed = runner.invoke(
        app, ["datasets", "download", "castella", "--root", str(tmp_path), "--api", server.url + "/api", "--quiet"]
    )
    assert listed.exit_code == 1 and "does not list clap_text.tar.gz" in listed.output
    _zenodo(server, "18358706", {"clap.tar.gz": _tar({"../evil": b"x"}), "clap_text.tar.gz": _tar({})})
    evil = runner.invoke(
        app,
        ["datasets", "download", "castella", "--root", str(tmp_path / "r"), "--api", server.url + "/api", "--quiet"],
    )
    assert evil.exit_code == 1 and "unsafe member ../evil" in evil.output
    assert not (tmp_path / "evil").exists()
    nosource = runner.invoke(app, ["datasets", "download", "tut2017", "--root", str(tmp_path)])
    assert nosource.exit_code == 2 and "no public feature release" in nosource.output
    unknown = runner.invoke(app, ["datasets", "download", "nope", "--root", str(tmp_path)])
    assert unknown.exit_code == 2
