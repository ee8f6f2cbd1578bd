/* ringlogd's page in Cockpit: the containers ringlogd lets this user read, their counters, and
 * their logs. Who may see what is ringlogd's decision (docs/dbus.md): the page asks as the
 * logged-in user (root with Cockpit's administrative access) and shows what it is given.
 *
 * Sources: org.ringlog.Log1 on the system bus through cockpit.dbus for the containers; the logs
 * through `ringlogctl logs -f --format json`, started by cockpit.spawn, because D-Bus hands a
 * query's records over as a file descriptor, which cannot reach a browser.
 *
 * Plain script, no build step: Cockpit serves these files as they are. Log lines are untrusted
 * text: they only ever reach the page through textContent. */
"use strict";

(function () {
    const BUS_NAME = "org.ringlog.Log1";
    const MANAGER_PATH = "/org/ringlog/Log1";
    const MANAGER = "org.ringlog.Log1.Manager";
    const CONTAINER = "org.ringlog.Log1.Container";
    const CONTAINERS_PATH = "/org/ringlog/Log1/container";

    // How often the counters are sampled for the plots (and, without signals, polled).
    const SAMPLE_MS = 2000;
    const PLOT_SAMPLES = 60;  // 2 minutes of samples
    // What a log view holds: the DOM keeps the newest lines only, so that a container writing
    // as fast as it can costs the page a bounded amount of work per frame.
    const MAX_DOM_LINES = 2000;
    const MAX_HELD_LINES = 50000;  // kept for the filter and the download
    const CALLS_AT_ONCE = 16;

    const $ = id => document.getElementById(id);

    /* ---- Formatting ---- */

    let utc = false;

    function pad(n, width) {
        return String(n).padStart(width || 2, "0");
    }

    // A time in ms since the epoch, as journalctl prints it: local or UTC, to the millisecond.
    function formatTime(ms, withMillis) {
        if (!ms)
            return "";
        const d = new Date(ms);
        const parts = utc
            ? [d.getUTCFullYear(), d.getUTCMonth() + 1, d.getUTCDate(), d.getUTCHours(), d.getUTCMinutes(), d.getUTCSeconds(), d.getUTCMilliseconds()]
            : [d.getFullYear(), d.getMonth() + 1, d.getDate(), d.getHours(), d.getMinutes(), d.getSeconds(), d.getMilliseconds()];
        let text = `${parts[0]}-${pad(parts[1])}-${pad(parts[2])} ${pad(parts[3])}:${pad(parts[4])}:${pad(parts[5])}`;
        if (withMillis)
            text += "." + pad(parts[6], 3);
        return utc ? text + " UTC" : text;
    }

    const numberFormat = new Intl.NumberFormat("en-US");
    const formatCount = n => numberFormat.format(n || 0);

    function showError(text) {
        $("error-text").textContent = text;
        $("error").hidden = !text;
    }

    function dbusErrorText(ex) {
        if (ex && ex.name === "org.freedesktop.DBus.Error.ServiceUnknown")
            return "ringlogd is not on the system bus: is ringlogd.service running? (systemctl status ringlogd)";
        return (ex && (ex.message || ex.problem)) || String(ex);
    }

    /* ---- The containers ---- */

    // id → container: what ListContainers and the properties (or Inspect) say, plus samples of
    // its counters for the plot.
    const containers = new Map();
    const idOfPath = new Map();
    const selected = new Set();
    let live = false;  // root: properties and signals; others: polling Inspect

    function containerFromList(entry) {
        const [id, name, image, driver, mode, state, path] = entry;
        return { id, name, image, driver, mode, state, path };
    }

    // Properties (or Inspect's dictionary) into the fields the page shows; variants arrive as
    // {t, v}.
    const fieldOfProperty = {
        Id: "id",
        Name: "name",
        Image: "image",
        Driver: "driver",
        Mode: "mode",
        State: "state",
        LastError: "lastError",
        AttachedAt: "attachedAt",
        ExitedAt: "exitedAt",
        LinesIn: "linesIn",
        LinesDropped: "linesDropped",
        BytesDropped: "bytesDropped",
        LinesSplit: "linesSplit",
        ObjectPath: "path",
    };

    function applyProperties(c, props) {
        for (const [key, variant] of Object.entries(props)) {
            const field = fieldOfProperty[key];
            if (!field)
                continue;
            let value = variant && typeof variant === "object" && "v" in variant ? variant.v : variant;
            if (field === "attachedAt" || field === "exitedAt")
                value = value / 1000;  // µs → ms
            c[field] = value;
        }
    }

    function upsert(id, fields) {
        let c = containers.get(id);
        if (!c) {
            c = { id, samples: [] };
            containers.set(id, c);
            tableChanged = true;
        }
        const state = c.state, sortValue = c[sortKey];
        let changed = false;
        for (const [key, value] of Object.entries(fields)) {
            if (c[key] !== value) {
                c[key] = value;
                changed = true;
            }
        }
        if (c.path)
            idOfPath.set(c.path, id);
        if (c.state !== state || c[sortKey] !== sortValue)
            tableChanged = true;
        if (changed) {
            dirty.add(id);
            scheduleRender();
        }
        return c;
    }

    // After a complete reading (GetManagedObjects, ListContainers): the others are gone.
    function keepOnly(ids) {
        for (const id of [...containers.keys()]) {
            if (!ids.has(id))
                remove(id);
        }
    }

    function remove(id) {
        const c = containers.get(id);
        if (c && c.path)
            idOfPath.delete(c.path);
        if (containers.delete(id)) {
            selected.delete(id);
            tableChanged = true;
            scheduleRender();
        }
    }

    // Every SAMPLE_MS: the counters' change since the last sample, per second, for the plot.
    function takeSamples() {
        const now = Date.now();
        for (const c of containers.values()) {
            const last = c.lastSample;
            if (last && now > last.at) {
                const seconds = (now - last.at) / 1000;
                c.samples.push({
                    lines: Math.max(0, (c.linesIn || 0) - last.linesIn) / seconds,
                    drops: Math.max(0, (c.linesDropped || 0) - last.linesDropped) / seconds,
                });
                if (c.samples.length > PLOT_SAMPLES)
                    c.samples.shift();
                dirty.add(c.id);
            }
            c.lastSample = { at: now, linesIn: c.linesIn || 0, linesDropped: c.linesDropped || 0 };
        }
        scheduleRender();
    }

    /* ---- Where the containers come from ---- */

    const client = cockpit.dbus(BUS_NAME, { bus: "system", superuser: "try" });
    const ACCESS_DENIED = "org.freedesktop.DBus.Error.AccessDenied";
    const GONE = ["org.freedesktop.DBus.Error.ServiceUnknown", "org.freedesktop.DBus.Error.NoReply",
                  "org.freedesktop.DBus.Error.UnknownObject", "org.freedesktop.DBus.Error.UnknownMethod",
                  "org.ringlog.Log1.NoSuchContainer"];

    function call(path, iface, method, args, type) {
        return client.call(path, iface, method, args, { type });
    }

    async function listContainers() {
        const [entries] = await call(MANAGER_PATH, MANAGER, "ListContainers", [], "");
        return entries.map(containerFromList);
    }

    // Root (or a session with administrative access): the signals, then one GetManagedObjects.
    // Subscribed first, so that nothing attached in between is missed; subscribed once, as a
    // resync after a restart of ringlogd reads the objects again.
    function subscribe() {
        client.subscribe({ interface: MANAGER, path: MANAGER_PATH }, (path, iface, signal, args) => {
            const [id, objectPath] = args;
            if (live && (signal === "ContainerAttached" || signal === "ContainerExited"))
                inTurn(() => fetchProperties(id, objectPath));
        });
        client.subscribe({ interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", path_namespace: CONTAINERS_PATH },
                         (path, iface, signal, args) => {
                             const [changedIface, changed] = args;
                             const id = idOfPath.get(path);
                             if (changedIface !== CONTAINER || id === undefined)
                                 return;
                             const fields = {};
                             applyProperties(fields, changed);
                             upsert(id, fields);
                         });
    }

    // Every container's properties in one call; the containers it does not name are gone (a
    // ringlogd restarted without them).
    async function readAllLive() {
        const [objects] = await call(CONTAINERS_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", [], "");
        const seen = new Set();
        for (const [path, ifaces] of Object.entries(objects)) {
            const props = ifaces[CONTAINER];
            if (!props)
                continue;
            const fields = { path };
            applyProperties(fields, props);
            seen.add(fields.id);
            upsert(fields.id, fields);
        }
        keepOnly(seen);
    }

    // Calls for many containers (after a burst of signals, or a poll) go CALLS_AT_ONCE at a
    // time: an engine that attaches a thousand containers at once must not make the page ask a
    // thousand questions at once (dbus-daemon allows a connection 128 calls waiting for their
    // replies).
    const waiting = [];
    let running = 0;

    function inTurn(task) {
        waiting.push(task);
        pump();
    }

    function pump() {
        while (running < CALLS_AT_ONCE && waiting.length > 0) {
            running++;
            waiting.shift()().finally(() => {
                running--;
                pump();
            });
        }
    }

    async function fetchProperties(id, path) {
        try {
            const [props] = await call(path, "org.freedesktop.DBus.Properties", "GetAll", [CONTAINER], "s");
            const fields = { path };
            applyProperties(fields, props);
            upsert(id, fields);
        } catch (ex) {
            // Gone since its signal (detached and forgotten, or ringlogd stopping): nothing to
            // show. Anything else is worth a word in the console.
            if (!ex || !GONE.includes(ex.name))
                console.warn("ringlog: properties of", id, dbusErrorText(ex));
        }
    }

    // ringlogd forgets an exited container after a while: its object goes without a signal
    // the page would see, so the live page compares with the list now and then.
    async function forgetRemoved() {
        try {
            const ids = new Set((await listContainers()).map(c => c.id));
            for (const c of [...containers.values()]) {
                // Only an exited one: one attached since the list was made is not in it yet.
                if (!ids.has(c.id) && c.state === "exited")
                    remove(c.id);
            }
            showError("");
        } catch (ex) {
            showError(dbusErrorText(ex));
        }
    }

    // Everyone else: the container properties and signals are root's (ringlogd's D-Bus policy),
    // so the page polls ListContainers, and asks Inspect, which answers for the containers this
    // user may read, for at most POLL_INSPECTS of them per round, in turn: a user with a
    // thousand containers costs ringlogd 50 calls a second, not 500.
    const POLL_INSPECTS = 100;
    let polling = false;
    let inspectFrom = 0;

    async function poll() {
        if (polling)
            return;
        polling = true;
        try {
            const listed = await listContainers();
            keepOnly(new Set(listed.map(c => c.id)));
            for (const c of listed)
                upsert(c.id, c);
            if (inspectFrom >= listed.length)
                inspectFrom = 0;
            const batch = listed.slice(inspectFrom, inspectFrom + POLL_INSPECTS);
            inspectFrom += batch.length;
            await Promise.all(batch.map(c => new Promise(done => inTurn(() => inspect(c.id).finally(done)))));
            showError("");
        } catch (ex) {
            showError(dbusErrorText(ex));
        } finally {
            polling = false;
        }
    }

    async function inspect(id) {
        try {
            const [dict] = await call(MANAGER_PATH, MANAGER, "Inspect", [id], "s");
            const fields = {};
            applyProperties(fields, dict);
            upsert(id, fields);
        } catch (ex) {
            // Gone between the list and the call: the next poll drops it.
        }
    }

    // Reads everything: at the start, and again whenever ringlogd comes back on the bus (a
    // restart or an upgrade). Live if the properties may be read; polling if ringlogd's
    // policy says no; another error (ringlogd not running) is shown and tried again.
    async function load() {
        try {
            await readAllLive();
            live = true;
            $("notice").hidden = true;
            showError("");
        } catch (ex) {
            if (!ex || ex.name !== ACCESS_DENIED) {
                showError(dbusErrorText(ex));
                return false;
            }
            live = false;
            const user = await cockpit.user().catch(() => ({ name: "" }));
            $("notice-text").textContent =
                `Shown: the containers ringlogd lets ${user.name || "this user"} read (those it attached, and those whose ` +
                "reader-groups log option names one of its groups). Others are not listed. Counters refresh every " +
                `${SAMPLE_MS / 1000} s; with administrative access the page shows every container, live.`;
            $("notice").hidden = false;
            await poll();
        }
        refreshAll();
        return true;
    }

    async function start() {
        performance.mark("ringlog-start");
        subscribe();
        let owner;
        client.addEventListener("owner", (event, name) => {
            // ringlogd restarted: its containers are read again (an exited one may be gone, the
            // others came back from systemd's fd store).
            if (name && owner && name !== owner)
                load();
            owner = name || owner;
        });
        let loaded = await load();
        takeSamples();
        let ticks = 0;
        window.setInterval(async () => {
            ticks++;
            if (!loaded)
                loaded = ticks % 3 === 0 ? await load() : false;  // every 6 s until ringlogd answers
            else if (!live)
                poll();
            else if (ticks % 15 === 0)
                forgetRemoved();
            takeSamples();
        }, SAMPLE_MS);
        performance.mark("ringlog-listed");
        renderNow();
        // When the page was complete, and where the time went (for the load test): after the
        // next frame is laid out and painted.
        await new Promise(resolve => window.requestAnimationFrame(() => window.requestAnimationFrame(resolve)));
        document.body.dataset.loadedMs = String(Math.round(performance.now()));
        document.body.dataset.timings = JSON.stringify(
            ["ringlog-start", "ringlog-listed"].map(m => Math.round(performance.getEntriesByName(m)[0].startTime)));
    }

    /* ---- The table ---- */

    let sortKey = "name";
    let sortAscending = true;
    let tableChanged = true;
    const dirty = new Set();
    const rows = new Map();  // id → <tr>
    const rowParts = new WeakMap();  // <tr> → its cells, by field
    let renderScheduled = false;

    function scheduleRender() {
        if (renderScheduled)
            return;
        renderScheduled = true;
        window.requestAnimationFrame(renderNow);
    }

    function matchesFilter(c, text) {
        if (!text)
            return true;
        return [c.name, c.id, c.image, c.driver, c.mode, c.state].some(v => (v || "").toLowerCase().includes(text));
    }

    function compare(a, b) {
        const x = a[sortKey], y = b[sortKey];
        let order;
        if (typeof x === "number" || typeof y === "number")
            order = (x || 0) - (y || 0);
        else
            order = String(x || "").localeCompare(String(y || ""));
        if (order === 0)
            order = a.id < b.id ? -1 : 1;
        return sortAscending ? order : -order;
    }

    function cell(text, className) {
        const td = document.createElement("td");
        td.textContent = text;
        if (className)
            td.className = className;
        return td;
    }

    function stateLabel(c) {
        const span = document.createElement("span");
        span.className = "pf-c-label pf-m-compact rl-state rl-state-" + (c.state || "unknown");
        span.textContent = c.state || "";
        if (c.lastError)
            span.title = c.lastError;
        return span;
    }

    // A sparkline: lines per second as a line, drops per second as red bars below it.
    function plot(c) {
        const ns = "http://www.w3.org/2000/svg";
        const width = 150, height = 28;
        const svg = document.createElementNS(ns, "svg");
        svg.setAttribute("width", width);
        svg.setAttribute("height", height);
        svg.setAttribute("class", "rl-plot");
        const samples = c.samples;
        const peak = Math.max(1, ...samples.map(s => s.lines), ...samples.map(s => s.drops));
        // Two minutes from left to right, the newest sample at the right edge: an empty left
        // part is time the page has not watched yet.
        const frame = document.createElementNS(ns, "rect");
        frame.setAttribute("width", width);
        frame.setAttribute("height", height);
        frame.setAttribute("class", "rl-plot-frame");
        svg.appendChild(frame);
        const step = width / PLOT_SAMPLES;
        const x0 = width - samples.length * step;
        if (samples.length > 1) {
            const points = samples.map((s, i) => `${(x0 + i * step).toFixed(1)},${(height - 1 - (s.lines / peak) * (height - 2)).toFixed(1)}`);
            const area = document.createElementNS(ns, "polygon");
            area.setAttribute("points", `${x0.toFixed(1)},${height} ${points.join(" ")} ${(x0 + (samples.length - 1) * step).toFixed(1)},${height}`);
            area.setAttribute("class", "rl-plot-area");
            svg.appendChild(area);
            const line = document.createElementNS(ns, "polyline");
            line.setAttribute("points", points.join(" "));
            line.setAttribute("class", "rl-plot-lines");
            svg.appendChild(line);
        }
        samples.forEach((s, i) => {
            if (s.drops <= 0)
                return;
            const bar = document.createElementNS(ns, "rect");
            const h = Math.max(2, (s.drops / peak) * (height - 2));
            bar.setAttribute("x", (x0 + i * step).toFixed(1));
            bar.setAttribute("y", (height - h).toFixed(1));
            bar.setAttribute("width", Math.max(1, step).toFixed(1));
            bar.setAttribute("height", h.toFixed(1));
            bar.setAttribute("class", "rl-plot-drops");
            svg.appendChild(bar);
        });
        const last = samples[samples.length - 1];
        const title = document.createElementNS(ns, "title");
        title.textContent = last ? `now: ${last.lines.toFixed(1)} lines/s, ${last.drops.toFixed(1)} drops/s; peak ${peak.toFixed(1)}/s` : "no sample yet";
        svg.appendChild(title);
        return svg;
    }

    // A row is made once and then updated in place: a click on it (a checkbox, an armed
    // Detach) must survive the counters changing every second.
    function createRow(c) {
        const tr = document.createElement("tr");
        tr.dataset.id = c.id;
        const check = document.createElement("input");
        check.type = "checkbox";
        check.setAttribute("aria-label", "Select " + (c.name || c.id));
        check.addEventListener("change", () => {
            if (check.checked)
                selected.add(c.id);
            else
                selected.delete(c.id);
            $("view-selected").disabled = selected.size === 0;
        });
        const checkCell = cell("", "pf-c-table__check");
        checkCell.appendChild(check);
        const nameCell = cell("", "rl-name");
        const link = document.createElement("a");
        link.href = "#";
        link.addEventListener("click", event => {
            event.preventDefault();
            openLog([c.id]);
        });
        nameCell.appendChild(link);
        const parts = {
            check,
            link,
            id: cell(c.id.slice(0, 12), "rl-id"),
            image: cell(""),
            driver: cell(""),
            mode: cell(""),
            state: cell(""),
            attachedAt: cell(""),
            exitedAt: cell(""),
            linesIn: cell("", "rl-number"),
            linesDropped: cell("", "rl-number"),
            bytesDropped: cell("", "rl-number"),
            linesSplit: cell("", "rl-number"),
            plot: cell(""),
            actions: cell(""),
            detach: null,
        };
        tr.append(checkCell, nameCell, parts.id, parts.image, parts.driver, parts.mode, parts.state, parts.attachedAt,
                  parts.exitedAt, parts.linesIn, parts.linesDropped, parts.bytesDropped, parts.linesSplit, parts.plot,
                  parts.actions);
        rowParts.set(tr, parts);
        return tr;
    }

    function setText(element, text) {
        if (element.textContent !== text)
            element.textContent = text;
    }

    function detachButton(c) {
        const detach = document.createElement("button");
        detach.type = "button";
        detach.className = "pf-c-button pf-m-link pf-m-danger rl-detach";
        detach.textContent = "Detach";
        // Two clicks: a detach cannot be undone (its writers get EPIPE from then on).
        detach.addEventListener("click", () => {
            if (detach.dataset.armed !== "yes") {
                detach.dataset.armed = "yes";
                detach.textContent = "Detach: sure?";
                return;
            }
            detach.disabled = true;
            call(MANAGER_PATH, MANAGER, "Detach", [c.id], "s")
                .then(() => showError(""))
                .catch(ex => {
                    detach.disabled = false;
                    showError(`Detach ${c.name || c.id}: ${dbusErrorText(ex)}`);
                });
        });
        return detach;
    }

    function updateRow(tr, c) {
        const parts = rowParts.get(tr);
        parts.check.checked = selected.has(c.id);
        setText(parts.link, c.name || c.id.slice(0, 12));
        setText(parts.image, c.image || "");
        setText(parts.driver, c.driver || "");
        setText(parts.mode, c.mode || "");
        const stateKey = `${c.state || ""}\n${c.lastError || ""}`;
        if (parts.stateKey !== stateKey) {
            parts.state.replaceChildren(stateLabel(c));
            parts.stateKey = stateKey;
        }
        setText(parts.attachedAt, formatTime(c.attachedAt));
        setText(parts.exitedAt, formatTime(c.exitedAt));
        setText(parts.linesIn, formatCount(c.linesIn));
        setText(parts.linesDropped, formatCount(c.linesDropped));
        parts.linesDropped.classList.toggle("rl-drops", !!c.linesDropped);
        setText(parts.bytesDropped, formatCount(c.bytesDropped));
        setText(parts.linesSplit, formatCount(c.linesSplit));
        parts.plot.replaceChildren(plot(c));
        const detachable = live && c.state !== "exited";
        if (detachable && !parts.detach) {
            parts.detach = detachButton(c);
            parts.actions.appendChild(parts.detach);
        } else if (!detachable && parts.detach) {
            parts.detach.remove();
            parts.detach = null;
        }
        tr.dataset.state = c.state || "";
    }

    function renderNow() {
        renderScheduled = false;
        const filter = $("container-filter").value.trim().toLowerCase();
        if (tableChanged) {
            tableChanged = false;
            const shown = [...containers.values()].filter(c => matchesFilter(c, filter)).sort(compare);
            const body = $("container-rows");
            const fragment = document.createDocumentFragment();
            for (const c of shown) {
                let tr = rows.get(c.id);
                if (!tr) {
                    tr = createRow(c);
                    rows.set(c.id, tr);
                    dirty.add(c.id);
                }
                fragment.appendChild(tr);
            }
            for (const id of [...rows.keys()]) {
                if (!containers.has(id))
                    rows.delete(id);
            }
            body.replaceChildren(fragment);
            $("container-count").textContent = shown.length === containers.size
                ? `${formatCount(containers.size)} containers`
                : `${formatCount(shown.length)} of ${formatCount(containers.size)} containers`;
            $("empty").textContent = containers.size === 0 ? "No container that you may read is attached to ringlogd." : "No container matches the filter.";
            $("empty").hidden = shown.length > 0;
        }
        for (const id of dirty) {
            const c = containers.get(id), tr = rows.get(id);
            if (c && tr)
                updateRow(tr, c);
        }
        dirty.clear();
        $("view-selected").disabled = selected.size === 0;
    }

    function refreshAll() {
        for (const id of containers.keys())
            dirty.add(id);
        tableChanged = true;
        scheduleRender();
    }

    /* ---- The log view ---- */

    // What a long line may grow to while its parts are joined, and how long the page waits
    // for the next part before it shows what it has (a prompt, a last line without \n).
    const MAX_JOINED = 1 << 20;
    const PARTIAL_WAIT_MS = 1000;

    const plural = (n, one, many) => `${formatCount(n)} ${n === 1 ? one : many}`;

    let view = null;  // the log view open now

    // One log view: a `ringlogctl logs` process, the records it gave, and what is shown.
    class LogView {
        constructor(ids) {
            this.ids = ids;
            this.held = [];      // records kept for the filter and the download (newest last)
            this.pending = [];   // records not yet drawn, the newest MAX_DOM_LINES at most
            this.received = 0;
            this.waitingWhilePaused = 0;
            this.paused = false;
            this.ended = "";
            this.failed = false;
            this.partial = new Map();  // container and stream → the start of a line cut in parts
            this.process = null;
            this.renderScheduled = false;
        }

        start() {
            const argv = ["ringlogctl", "logs", "--format", "json"];
            const tail = $("tail").value.trim();
            if (tail !== "")
                argv.push("--tail", tail);
            const since = $("since").value, until = $("until").value;
            if (since)
                argv.push("--since", new Date(since).toISOString());  // the browser's local time, as RFC 3339
            if (until)
                argv.push("--until", new Date(until).toISOString());
            // Nothing can come after an until that is past: the history alone.
            this.following = !until || new Date(until).getTime() > Date.now();
            if (this.following)
                argv.push("--follow");
            argv.push("--", ...this.ids);
            let buffered = "";
            this.process = cockpit.spawn(argv, { err: "message", superuser: "try" });
            this.process.stream(data => {
                if (view !== this)
                    return;
                buffered += data;
                const end = buffered.lastIndexOf("\n");
                if (end < 0)
                    return;
                for (const line of buffered.slice(0, end).split("\n")) {
                    if (line)
                        this.receive(line);
                }
                buffered = buffered.slice(end + 1);
                this.schedule();
            });
            this.process
                .then(() => {
                    this.flushPartials(true);
                    this.ended = !this.following
                        ? "The log is complete up to the until time."
                        : until ? "The log ended: the until time is reached, or every container shown has exited."
                            : "The log ended: every container shown has exited.";
                    this.schedule();
                })
                .catch(ex => {
                    if (this.process === null)
                        return;  // closed by the page
                    this.flushPartials(true);
                    this.ended = ex && ex.problem === "not-found"
                        ? "ringlogctl is not installed here (it comes with the ringlogd package)."
                        : (ex && ex.message) ? ex.message.trim() : String(ex);
                    this.failed = true;
                    this.schedule();
                });
        }

        stop() {
            const process = this.process;
            this.process = null;
            if (process)
                process.close("terminated");
        }

        receive(text) {
            let record;
            try {
                record = JSON.parse(text);
            } catch (ex) {
                console.warn("ringlog: not a JSON record:", text.slice(0, 200));
                return;
            }
            if (record.missed !== undefined) {
                this.add({ missed: record.missed });
                return;
            }
            // A line longer than max-line arrives in parts: join them, as `ringlogctl logs` does.
            const key = (record.container_id || "") + "/" + record.stream;
            const start = this.partial.get(key);
            if (start) {
                record.message = start.message + record.message;
                record.time = start.time;
                record.time_ns = start.time_ns;
            }
            if (record.partial && record.message.length < MAX_JOINED) {
                record.arrived = Date.now();
                this.partial.set(key, record);
                return;
            }
            this.partial.delete(key);
            this.add(record);
        }

        // A part that nothing followed for a while is shown as it is: a prompt, or a
        // container's last line without \n.
        flushPartials(all) {
            const now = Date.now();
            for (const [key, record] of [...this.partial]) {
                if (all || now - record.arrived >= PARTIAL_WAIT_MS) {
                    this.partial.delete(key);
                    this.add(record);
                }
            }
        }

        add(record) {
            this.received++;
            this.held.push(record);
            // Trimmed in batches: one splice per thousand records, not one per record.
            if (this.held.length > MAX_HELD_LINES + 1000)
                this.held.splice(0, this.held.length - MAX_HELD_LINES);
            if (this.paused)
                this.waitingWhilePaused++;
            if (this.matches(record, this.filter())) {
                this.pending.push(record);
                if (this.pending.length > 2 * MAX_DOM_LINES)
                    this.pending.splice(0, this.pending.length - MAX_DOM_LINES);
            }
        }

        filter() {
            return $("log-filter").value.trim().toLowerCase();
        }

        matches(record, filter) {
            if (!filter || record.missed !== undefined)
                return true;
            return record.message.toLowerCase().includes(filter) || (record.container_name || "").toLowerCase().includes(filter);
        }

        schedule() {
            if (view !== this)
                return;
            if (this.partial.size > 0 && !this.partialTimer) {
                this.partialTimer = window.setTimeout(() => {
                    this.partialTimer = null;
                    this.flushPartials(false);
                    this.schedule();
                }, PARTIAL_WAIT_MS);
            }
            if (this.renderScheduled)
                return;
            this.renderScheduled = true;
            window.requestAnimationFrame(() => {
                this.renderScheduled = false;
                this.render();
            });
        }

        lineElement(record) {
            const div = document.createElement("div");
            if (record.missed !== undefined) {
                div.className = "rl-line rl-missed";
                div.textContent = `-- ${plural(record.missed, "record", "records")} missed: this view fell behind the log --`;
                return div;
            }
            div.className = record.stream === "stderr" ? "rl-line rl-stderr" : "rl-line";
            div.dataset.stream = record.stream;
            const time = document.createElement("span");
            time.className = "rl-time";
            time.textContent = formatTime(Math.floor(record.time_ns / 1e6), true);
            time.title = record.time;
            div.appendChild(time);
            if (this.ids.length > 1) {
                const name = document.createElement("span");
                name.className = "rl-container";
                name.textContent = record.container_name || (record.container_id || "").slice(0, 12);
                div.appendChild(name);
            }
            const stream = document.createElement("span");
            stream.className = "rl-stream";
            stream.textContent = record.stream === "stderr" ? "stderr" : "";
            div.appendChild(stream);
            const message = document.createElement("span");
            message.className = "rl-message";
            message.textContent = record.message.replace(/\r?\n$/, "");
            div.appendChild(message);
            return div;
        }

        // New records go to the DOM once a frame, at most MAX_DOM_LINES of them, and the oldest
        // lines leave it: however fast a container writes, a frame costs at most that much.
        render() {
            if (view !== this)
                return;  // replaced while a frame was scheduled
            const box = $("log-lines");
            if (!this.paused && this.pending.length > 0) {
                const records = this.pending.slice(-MAX_DOM_LINES);
                this.pending = [];
                const atBottom = box.scrollTop + box.clientHeight >= box.scrollHeight - 4;
                const fragment = document.createDocumentFragment();
                for (const r of records)
                    fragment.appendChild(this.lineElement(r));
                box.appendChild(fragment);
                while (box.childElementCount > MAX_DOM_LINES)
                    box.firstElementChild.remove();
                if (atBottom)
                    box.scrollTop = box.scrollHeight;
            }
            this.status();
        }

        // The filter or the time zone changed: everything held is drawn again, paused or not.
        redraw() {
            $("log-lines").replaceChildren();
            const filter = this.filter();
            this.pending = this.held.filter(r => this.matches(r, filter));
            this.waitingWhilePaused = 0;
            const paused = this.paused;
            this.paused = false;
            this.render();
            this.paused = paused;
        }

        setPaused(paused) {
            this.paused = paused;
            this.waitingWhilePaused = 0;
            this.render();
        }

        status() {
            const shown = $("log-lines").childElementCount;
            const parts = [];
            if (this.paused)
                parts.push(`Paused: ${plural(this.waitingWhilePaused, "new line waits", "new lines wait")}.`);
            parts.push(`Showing ${formatCount(shown)} of ${plural(this.received, "line", "lines")} received.`);
            if (this.received > MAX_DOM_LINES)
                parts.push(`The page keeps the newest ${formatCount(MAX_DOM_LINES)} on screen and ${formatCount(MAX_HELD_LINES)} for the filter and the download.`);
            parts.push(this.ended || "Following.");
            $("log-status").textContent = parts.join(" ");
            $("log-status").classList.toggle("rl-failed", this.failed);
        }

        // What Download saves: the lines held that pass the filter, as text.
        text() {
            const filter = this.filter();
            return this.held.filter(r => this.matches(r, filter)).map(r => {
                if (r.missed !== undefined)
                    return `-- ${plural(r.missed, "record", "records")} missed --\n`;
                const who = this.ids.length > 1 ? ` ${r.container_name || r.container_id}` : "";
                return `${r.time}${who} ${r.stream} ${r.message.replace(/\r?\n$/, "")}\n`;
            }).join("");
        }
    }

    function titleOf(ids) {
        return ids.map(id => {
            const c = containers.get(id);
            return c ? (c.name || id.slice(0, 12)) : id.slice(0, 12);
        }).join(", ");
    }

    // Ids and names as ringlogd takes them; anything else (from an edited address) is refused
    // before it reaches ringlogctl's command line.
    const CONTAINER_KEY = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

    // fromAddress: opened because the address changed (Back, Forward, a bookmark), which is
    // then not changed again, or Back would return to the same log.
    function openLog(ids, fromAddress) {
        closeLog();
        $("containers-view").hidden = true;
        $("log-view").hidden = false;
        $("log-lines").replaceChildren();
        $("pause").textContent = "Pause";
        const bad = ids.filter(id => !CONTAINER_KEY.test(id));
        $("log-title").textContent = titleOf(ids.filter(id => CONTAINER_KEY.test(id)));
        shownLogs = ids.join(",");
        if (!fromAddress)
            cockpit.location.go([], { logs: shownLogs });
        if (bad.length > 0 || ids.length === 0) {
            $("log-status").textContent = bad.length > 0
                ? `Not a container id or name: ${bad.join(", ")}`
                : "No container chosen.";
            $("log-status").classList.add("rl-failed");
            return;
        }
        view = new LogView(ids);
        view.start();
        view.status();
    }

    function closeLog() {
        if (view)
            view.stop();
        view = null;
    }

    function showContainers(fromAddress) {
        closeLog();
        $("log-view").hidden = true;
        $("containers-view").hidden = false;
        shownLogs = "";
        if (fromAddress !== true)
            cockpit.location.go([]);
        refreshAll();
    }

    // The address says which log is open (#/?logs=ID,ID): the browser's Back and Forward, and
    // an address typed or bookmarked, open and close the log view.
    let shownLogs = "";

    function followLocation() {
        const wanted = String(cockpit.location.options.logs || "");
        if (wanted === shownLogs)
            return;
        if (wanted)
            openLog(wanted.split(",").filter(Boolean), true);
        else
            showContainers(true);
    }

    function download() {
        if (!view)
            return;
        const blob = new Blob([view.text()], { type: "text/plain" });
        const a = document.createElement("a");
        a.href = URL.createObjectURL(blob);
        a.download = `${titleOf(view.ids).replace(/[^A-Za-z0-9_.-]+/g, "_")}.log`;
        document.body.appendChild(a);
        a.click();
        a.remove();
        window.setTimeout(() => URL.revokeObjectURL(a.href), 60000);
    }

    /* ---- Wiring ---- */

    function setUtc(on) {
        utc = on;
        $("utc").checked = on;
        $("log-utc").checked = on;
        refreshAll();
        if (view)
            view.redraw();
    }

    function wire() {
        $("container-filter").addEventListener("input", () => {
            tableChanged = true;
            scheduleRender();
        });
        for (const th of document.querySelectorAll("th[data-sort]")) {
            th.classList.add("rl-sortable");
            th.tabIndex = 0;
            const sort = () => {
                if (sortKey === th.dataset.sort)
                    sortAscending = !sortAscending;
                else {
                    sortKey = th.dataset.sort;
                    sortAscending = true;
                }
                for (const other of document.querySelectorAll("th[data-sort]"))
                    other.removeAttribute("aria-sort");
                th.setAttribute("aria-sort", sortAscending ? "ascending" : "descending");
                tableChanged = true;
                scheduleRender();
            };
            th.addEventListener("click", sort);
            th.addEventListener("keydown", event => {
                if (event.key === "Enter")
                    sort();
            });
        }
        $("select-all").addEventListener("change", () => {
            for (const tr of $("container-rows").children) {
                if ($("select-all").checked)
                    selected.add(tr.dataset.id);
                else
                    selected.delete(tr.dataset.id);
            }
            refreshAll();
        });
        $("view-selected").addEventListener("click", () => openLog([...selected]));
        $("utc").addEventListener("change", () => setUtc($("utc").checked));
        $("log-utc").addEventListener("change", () => setUtc($("log-utc").checked));
        $("back").addEventListener("click", showContainers);
        $("apply").addEventListener("click", () => {
            if (view)
                openLog(view.ids);
        });
        $("log-filter").addEventListener("input", () => {
            if (view)
                view.redraw();
        });
        $("pause").addEventListener("click", () => {
            if (!view)
                return;
            view.setPaused(!view.paused);
            $("pause").textContent = view.paused ? "Resume" : "Pause";
        });
        $("download").addEventListener("click", download);
        window.addEventListener("beforeunload", closeLog);
    }

    document.addEventListener("DOMContentLoaded", () => {
        wire();
        start().then(() => {
            followLocation();
            cockpit.addEventListener("locationchanged", followLocation);
        }).catch(ex => showError(dbusErrorText(ex)));
    });
}());
