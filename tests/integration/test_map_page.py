"""The public map in a real browser: `gigalis serve` on a loopback port over SQLite with the
Gigalis network and collèges needing THD, and Debian's Chromium, headless, loading /map.

What is proved: the page runs and draws every network site, cable route, site needing THD
and commune the public API lists; a screenshot is taken; it says so when data fails to
load; and nothing left loopback. The service and the browser run inside a network
namespace the test creates with nothing but its loopback interface, so no packet can leave
whatever the browser tries (Chromium probes IPv6 routability by connecting a UDP socket to
a public address, for one); within it, every host name but 127.0.0.1 resolves to an error,
and the browser's net log shows only 127.0.0.1 URLs and 127.0.0.1 sockets.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
import sqlalchemy as sa
from websockets.sync.client import ClientConnection, connect

from gigalis_nms.api.map_page import CSP_DIRECTIVES
from gigalis_nms.db import make_engine, upgrade
from tests.conftest import need
from tests.integration.public_support import PUBLIC, load_public_data
from tests.postgres import free_port
from tests.processes import gigalis_serve

pytestmark = pytest.mark.timeout(600)

BROWSER_SECONDS = 120
# Virtual time lets the page's timers run at once; it waits for network requests in flight.
VIRTUAL_TIME_MS = 30_000
SECRET_KEY = "test-secret-key-for-the-map-page"
SCREENSHOT_COPY = Path(tempfile.gettempdir()) / "gigalis-map-page.png"
NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})


def chromium() -> str:
    found = shutil.which("chromium")
    need(found is not None, "Debian's chromium (apt install chromium)")
    assert found is not None
    # Debian's /usr/bin/chromium is a wrapper that sources /etc/chromium.d, which turns
    # remote extensions (and their update checks) on; the browser itself, started with
    # this test's flags only, is what a member's browser runs.
    real = Path("/usr/lib/chromium/chromium")
    return str(real) if real.is_file() else found


# setns(2) flag: join a network namespace (os.setns arrives only with Python 3.12).
CLONE_NEWNET = 0x40000000


def _join_namespace(libc: ctypes.CDLL, descriptor: int) -> None:
    if libc.setns(descriptor, CLONE_NEWNET) != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"setns: {os.strerror(error)}")


@contextmanager
def loopback_only_namespace() -> Iterator[None]:
    """This thread, and every process it starts, inside a network namespace of the test's
    own that holds only a loopback interface, for the block; the namespace is deleted
    after, whatever happened. Namespaces are per thread: pytest's thread returns to its own
    at the end."""
    need(os.geteuid() == 0, "root, to run the service and the browser in a network namespace")
    need(shutil.which("ip") is not None, "iproute2's ip (apt install iproute2)")
    name = f"gigalis-map-test-{os.getpid()}"
    subprocess.run(["ip", "netns", "add", name], check=True)
    try:
        subprocess.run(["ip", "-n", name, "link", "set", "lo", "up"], check=True)
        libc = ctypes.CDLL(None, use_errno=True)
        with (
            open("/proc/thread-self/ns/net") as home,
            open(f"/run/netns/{name}") as isolated,
        ):
            _join_namespace(libc, isolated.fileno())
            try:
                yield
            finally:
                _join_namespace(libc, home.fileno())
    finally:
        subprocess.run(["ip", "netns", "delete", name], check=False)


@dataclass
class Service:
    url: str
    database: Path


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    """`gigalis serve` over a SQLite file holding the public data, no background work."""
    database = tmp_path / "gigalis.sqlite3"
    engine = make_engine(f"sqlite:///{database}")
    upgrade(engine)
    load_public_data(engine)
    engine.dispose()
    environment = {
        **os.environ,
        "GIGALIS_ENVIRONMENT": "test",
        "GIGALIS_DATA_DIR": str(tmp_path / "data"),
        "GIGALIS_DATABASE_URL": f"sqlite:///{database}",
        "GIGALIS_SECRET_KEY": SECRET_KEY,
        "GIGALIS_JOB_WORKER": "false",
        "GIGALIS_ORDER_WORKER": "false",
        "GIGALIS_POLLER": "false",
    }
    with loopback_only_namespace(), gigalis_serve(environment, tmp_path / "serve.log") as url:
        yield Service(url, database)


@dataclass
class BrowserRun:
    stdout: str
    net_log: Path


def chromium_command(folder: Path, name: str) -> list[str]:
    """Headless Chromium with a profile of its own in ``folder``, its net log in
    ``folder/name.netlog.json``, and no way to reach anything beyond loopback."""
    closed = free_port()  # a loopback port nobody listens on
    return [
        chromium(),
        "--headless",
        "--no-sandbox",  # the tests may run as root
        "--disable-gpu",
        f"--user-data-dir={folder / f'{name}-profile'}",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-extensions",
        "--disable-default-apps",
        "--disable-features=NetworkTimeServiceQuerying,OptimizationHints,Translate,MediaRouter",
        # The browser's own sign-in and update checks go to a closed loopback port, not to
        # Google: then every URL in the net log is either the page's or provably local.
        f"--gaia-url=http://127.0.0.1:{closed}/",
        f"--component-updater=url-source=http://127.0.0.1:{closed}/",
        # Any other host name fails to resolve: nothing can leave loopback by name.
        "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
        f"--log-net-log={folder / f'{name}.netlog.json'}",
        "--window-size=1400,900",
    ]


@contextmanager
def browser_process(
    command: list[str], folder: Path, name: str, **options: Any
) -> Iterator[subprocess.Popen[bytes]]:
    """Runs ``command`` in a process group of its own; whatever happens, the group (the
    browser, its zygote and renderers) is killed by its id when the block ends."""
    with (folder / f"{name}.stderr.log").open("wb") as errors:
        browser = subprocess.Popen(command, stderr=errors, start_new_session=True, **options)
        try:
            yield browser
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(browser.pid, signal.SIGKILL)
            browser.wait(timeout=30)


def run_chromium(url: str, folder: Path, name: str, *options: str) -> BrowserRun:
    """Chromium on ``url`` with ``options`` (--dump-dom, --screenshot…), run to its end in
    virtual time."""
    command = [*chromium_command(folder, name), f"--virtual-time-budget={VIRTUAL_TIME_MS}"]
    with browser_process(
        [*command, *options, url], folder, name, stdout=subprocess.PIPE
    ) as browser:
        try:
            stdout, _ = browser.communicate(timeout=BROWSER_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"chromium did not finish {name} within {BROWSER_SECONDS} s")
    assert browser.returncode == 0, (folder / f"{name}.stderr.log").read_text()[-3000:]
    return BrowserRun(stdout.decode("utf-8"), folder / f"{name}.netlog.json")


class DevTools:
    """Chromium's DevTools protocol on its loopback WebSocket, one command at a time, for
    one page (a flat session)."""

    def __init__(self, socket: ClientConnection) -> None:
        self.socket = socket
        self.counter = 0
        self.session: str | None = None

    def call(self, method: str, **params: Any) -> dict[str, Any]:
        self.counter += 1
        message: dict[str, Any] = {"id": self.counter, "method": method, "params": params}
        if self.session and not method.startswith(("Target.", "Browser.")):
            message["sessionId"] = self.session
        self.socket.send(json.dumps(message))
        deadline = time.monotonic() + 30
        while True:  # events come in between; the answer carries the command's id
            reply = json.loads(self.socket.recv(timeout=max(deadline - time.monotonic(), 0.1)))
            if reply.get("id") == self.counter:
                assert "error" not in reply, f"{method}: {reply.get('error')}"
                result: dict[str, Any] = reply["result"]
                return result

    def open(self, url: str) -> None:
        """``url`` in the browser's own first tab, brought to the front as a user's is."""
        [tab, *_] = [
            t for t in self.call("Target.getTargets")["targetInfos"] if t["type"] == "page"
        ]
        self.session = self.call("Target.attachToTarget", targetId=tab["targetId"], flatten=True)[
            "sessionId"
        ]
        self.call("Page.bringToFront")
        self.call("Page.navigate", url=url)

    def value(self, expression: str) -> Any:
        answer = self.call("Runtime.evaluate", expression=expression, returnByValue=True)
        assert "exceptionDetails" not in answer, answer
        return answer["result"].get("value")

    def wait_for(self, expression: str, expected: Any, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while (found := self.value(expression)) != expected:
            assert time.monotonic() < deadline, f"{expression} is {found!r}, not {expected!r}"
            time.sleep(0.1)

    def centre_of(self, selector: str) -> tuple[float, float]:
        box = self.value(
            f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
            ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
        )
        return float(box[0]), float(box[1])

    def mouse(self, kind: str, x: float, y: float, **more: Any) -> None:
        self.call("Input.dispatchMouseEvent", type=kind, x=x, y=y, **more)

    def click(self, x: float, y: float) -> None:
        self.mouse("mouseMoved", x, y)
        self.mouse("mousePressed", x, y, button="left", buttons=1, clickCount=1)
        self.mouse("mouseReleased", x, y, button="left", buttons=0, clickCount=1)

    def view_box(self) -> list[float]:
        text = self.value("document.getElementById('map').getAttribute('viewBox')")
        return [float(number) for number in text.split()]

    def settled_view(self, expected: list[float | None], seconds: float = 10) -> list[float]:
        """The map's viewBox once it matches ``expected`` (None: any value) to 1 % or 10
        units (3 pixels at the whole region)."""
        deadline = time.monotonic() + seconds
        while True:
            found = self.view_box()
            matches = zip(found, expected, strict=True)
            if all(e is None or f == pytest.approx(e, rel=0.01, abs=10) for f, e in matches):
                return found
            assert time.monotonic() < deadline, f"the view is {found}, not {expected}"
            time.sleep(0.1)


@contextmanager
def devtools_on(folder: Path, name: str) -> Iterator[DevTools]:
    """A browser driven through DevTools; closed properly at the end, so that its net log
    is complete."""
    profile = folder / f"{name}-profile"
    command = [*chromium_command(folder, name), "--remote-debugging-port=0", "about:blank"]
    with browser_process(command, folder, name) as browser:
        port_file = profile / "DevToolsActivePort"
        deadline = time.monotonic() + BROWSER_SECONDS
        while not port_file.is_file() or len(port_file.read_text().split()) < 2:
            assert browser.poll() is None, (folder / f"{name}.stderr.log").read_text()[-3000:]
            assert time.monotonic() < deadline, "chromium did not open its DevTools port"
            time.sleep(0.1)
        port, path = port_file.read_text().split()[:2]
        with connect(f"ws://127.0.0.1:{port}{path}", max_size=None, open_timeout=30) as socket:
            devtools = DevTools(socket)
            try:
                yield devtools
            finally:
                with contextlib.suppress(Exception):
                    devtools.call("Browser.close")
        browser.wait(timeout=BROWSER_SECONDS)


# --- what the net log says ----------------------------------------------------------------


@dataclass
class NetLog:
    urls: set[str]  # every URL the browser requested or was redirected to
    tcp_peers: set[str]  # every address a TCP connection was attempted to
    udp_peers: dict[int, str]  # UDP socket → the address it was connected to
    udp_senders: set[int]  # UDP sockets that sent at least one datagram
    bytes_sent: int  # events recording bytes sent, on any socket


def read_net_log(path: Path) -> NetLog:
    document = json.loads(path.read_text(encoding="utf-8"))
    names = {number: name for name, number in document["constants"]["logEventTypes"].items()}
    log = NetLog(set(), set(), {}, set(), 0)

    def urls_in(node: Any) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key in {"url", "original_url", "new_location"} and isinstance(value, str):
                    log.urls.add(value)
                else:
                    urls_in(value)
        elif isinstance(node, list):
            for item in node:
                urls_in(item)

    for event in document["events"]:
        name, params = names[event["type"]], event.get("params", {})
        socket = event["source"]["id"]
        urls_in(params)
        if name == "TCP_CONNECT_ATTEMPT" and "address" in params:  # its end has none
            log.tcp_peers.add(params["address"])
        elif name == "TCP_CONNECT" and "remote_address" in params:
            log.tcp_peers.add(params["remote_address"])
        elif name == "UDP_CONNECT" and "address" in params:
            log.udp_peers[socket] = params["address"]
        elif name == "UDP_BYTES_SENT":
            log.udp_senders.add(socket)
        if name.endswith("BYTES_SENT"):
            log.bytes_sent += 1
    return log


def is_loopback(address: str) -> bool:
    return address.startswith(("127.0.0.1:", "[::1]:"))


def assert_only_loopback(net_log: Path, expected: list[str]) -> None:
    log = read_net_log(net_log)
    network = [u for u in log.urls if urlsplit(u).scheme in NETWORK_SCHEMES]
    elsewhere = sorted(u for u in network if urlsplit(u).hostname != "127.0.0.1")
    assert elsewhere == [], f"requests left loopback: {elsewhere}"
    assert log.tcp_peers, "no TCP connection recorded"
    assert all(is_loopback(peer) for peer in log.tcp_peers), log.tcp_peers
    # Chromium connects a UDP socket to a public address to learn whether IPv6 is routable;
    # connecting a UDP socket sends nothing, and no datagram may follow to anything but
    # loopback.
    sent_away = {log.udp_peers.get(s, "?") for s in log.udp_senders} - {"?"}
    assert all(is_loopback(peer) for peer in sent_away), sent_away
    assert log.bytes_sent > 0, "the net log records no bytes sent: it proves nothing"
    # The log did record the page's own traffic: an empty log would prove nothing either.
    for wanted in expected:
        assert any(wanted in url for url in network), f"{wanted} not in the net log"


# --- what the page drew -------------------------------------------------------------------


class DrawnPage(HTMLParser):
    """What the dumped DOM holds: drawn features by layer, and the page's messages."""

    def __init__(self) -> None:
        super().__init__()
        self.drawn: Counter[str] = Counter()
        self.body: dict[str, str | None] = {}
        self.status_hidden = True
        self.texts: dict[str, str] = {}
        self._open: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        key = attributes.get("data-key")
        if key:
            self.drawn[key.split(":", 1)[0]] += 1
        if tag == "body":
            self.body = attributes
        element_id = attributes.get("id")
        if element_id == "status":
            self.status_hidden = "hidden" in attributes
        if element_id in {"status", "counts", "outline-note"}:
            self._open = element_id
            self.texts[element_id] = ""

    def handle_endtag(self, tag: str) -> None:
        if tag in {"div", "p"}:
            self._open = None

    def handle_data(self, data: str) -> None:
        if self._open:
            self.texts[self._open] += data


def drawn_page(dom: str) -> DrawnPage:
    page = DrawnPage()
    page.feed(dom)
    return page


def api_count(base: str, path: str) -> int:
    response = httpx.get(f"{base}{PUBLIC}{path}", params={"limit": 1}, timeout=30)
    assert response.status_code == 200, response.text
    return int(response.json()["count"])


# --- tests --------------------------------------------------------------------------------


def test_the_service_and_the_browser_have_no_route_beyond_loopback(service: Service) -> None:
    # The test's own thread is in the service's namespace: a documentation address (which
    # nothing would answer anyway) has no route, so neither has any other.
    with (
        socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe,
        pytest.raises(OSError, match="unreachable") as refused,
    ):
        probe.connect(("192.0.2.1", 9))
    assert refused.value.errno == errno.ENETUNREACH
    assert httpx.get(f"{service.url}/map", timeout=30).status_code == 200


def test_the_map_draws_the_public_data_from_this_server_only(
    service: Service, tmp_path: Path
) -> None:
    page = httpx.get(f"{service.url}/map", timeout=30)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in page.headers["content-security-policy"].split(";")
    )
    assert policy == dict.fromkeys(CSP_DIRECTIVES, "'self'")
    for asset in ("/map/map.js", "/map/map.css"):
        assert httpx.get(f"{service.url}{asset}", timeout=30).status_code == 200
    expected = {
        "pops": api_count(service.url, "/pops"),
        "cables": api_count(service.url, "/cables"),
        "sites": api_count(service.url, "/sites"),
        "communes": api_count(service.url, "/boundaries/communes"),
    }
    assert min(expected.values()) > 0

    run = run_chromium(f"{service.url}/map", tmp_path, "dom", "--dump-dom")
    drawn = drawn_page(run.stdout)
    assert drawn.body.get("data-state") == "ready", drawn.texts.get("status")
    assert "data-csp-violations" not in drawn.body
    assert drawn.status_hidden
    assert dict(drawn.drawn) == expected
    assert f"{expected['pops']} network sites" in drawn.texts["counts"]
    assert f"{expected['sites']} sites needing THD" in drawn.texts["counts"]
    assert "approximate" in drawn.texts["outline-note"]
    assert_only_loopback(
        run.net_log,
        ["/map/map.js", "/map/map.css", f"{PUBLIC}/pops", f"{PUBLIC}/sites", "/boundaries/"],
    )

    screenshot = tmp_path / "map.png"
    shot = run_chromium(f"{service.url}/map", tmp_path, "screenshot", f"--screenshot={screenshot}")
    image = screenshot.read_bytes()
    assert image.startswith(b"\x89PNG\r\n\x1a\n")
    assert len(image) > 50_000  # a drawn map, not a blank page
    shutil.copyfile(screenshot, SCREENSHOT_COPY)
    print(f"map screenshot: {screenshot} (copied to {SCREENSHOT_COPY})")
    assert_only_loopback(shot.net_log, ["/map/map.js", f"{PUBLIC}/cables"])


def test_the_map_says_when_data_failed_to_load(service: Service, tmp_path: Path) -> None:
    pops = api_count(service.url, "/pops")
    # The sites' table goes missing under the running service: its list answers 503.
    engine = make_engine(f"sqlite:///{service.database}")
    with engine.begin() as connection:
        connection.execute(sa.text("ALTER TABLE site_need RENAME TO site_need_away"))
    engine.dispose()
    assert httpx.get(f"{service.url}{PUBLIC}/sites", timeout=30).status_code == 503

    run = run_chromium(f"{service.url}/map", tmp_path, "failing", "--dump-dom")
    drawn = drawn_page(run.stdout)
    assert drawn.body.get("data-state") == "error"
    assert not drawn.status_hidden
    assert "failed to load" in drawn.texts["status"]
    assert "sites needing THD: HTTP 503" in drawn.texts["status"]
    # What did load is drawn all the same.
    assert drawn.drawn["pops"] == pops
    assert drawn.drawn["sites"] == 0
    assert_only_loopback(run.net_log, [f"{PUBLIC}/sites"])


def test_the_map_pans_zooms_and_shows_a_features_fields(service: Service, tmp_path: Path) -> None:
    """Real mouse events, through DevTools: hover, click, drag, wheel, a layer turned off."""
    with devtools_on(tmp_path, "interactive") as page:
        page.open(f"{service.url}/map")
        page.wait_for("document.body && document.body.dataset.state", "ready")
        home = page.view_box()

        # A PoP whose centre no other PoP covers (Nantes' two PoPs overlap at this zoom).
        key = page.value(
            "[...document.querySelectorAll('#layer-pops [data-key]')].find((shape) => {"
            " const r = shape.getBoundingClientRect();"
            " return document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2) === shape;"
            " }).dataset.key"
        )
        pop = httpx.get(f"{service.url}{PUBLIC}/pops/{key.split(':')[1]}", timeout=30).json()
        title = f"{pop['properties']['name']} ({pop['id']})"
        x, y = page.centre_of(f'[data-key="{key}"]')
        page.mouse("mouseMoved", x, y)
        assert page.value("document.getElementById('tooltip').hidden") is False
        assert page.value("document.getElementById('tooltip').textContent") == title
        page.click(x, y)
        details = page.value("document.getElementById('details').textContent")
        assert title in details
        assert ", ".join(pop["properties"]["services"]) in details
        assert page.value(
            f"document.querySelector('[data-key=\"{key}\"]').classList.contains('selected')"
        )

        # A drag of (120, 60) pixels moves the view by as much, and does not select.
        page.mouse("mousePressed", 300, 300, button="left", buttons=1, clickCount=1)
        for step in range(1, 7):
            page.mouse("mouseMoved", 300 + 20 * step, 300 + 10 * step, button="left", buttons=1)
        page.mouse("mouseReleased", 420, 360, button="left", buttons=0, clickCount=1)
        per_pixel = home[2] / page.value("document.getElementById('map').clientWidth")
        # The page handles input in its own time: wait for the view to settle.
        dragged = page.settled_view(
            [home[0] - 120 * per_pixel, home[1] - 60 * per_pixel, *home[2:]]
        )
        assert title in page.value("document.getElementById('details').textContent")

        page.mouse("mouseWheel", 500, 400, deltaX=0, deltaY=-120)
        page.settled_view([None, None, dragged[2] * 0.8, dragged[3] * 0.8])

        page.click(*page.centre_of('input[data-layer="sites"]'))
        assert page.value("document.getElementById('layer-sites').classList.contains('hidden')")
        page.click(*page.centre_of("#zoom-reset"))
        page.settled_view(home)
    assert_only_loopback(tmp_path / "interactive.netlog.json", ["/map/map.js", f"{PUBLIC}/pops"])
