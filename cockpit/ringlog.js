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
    const POLL_CONCURRENCY = 16;

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
        const before = c.state;
        Object.assign(c, fields);
        if (c.path)
            idOfPath.set(c.path, id);
        if (c.state !== before)
            tableChanged = true;
        dirty.add(id);
        scheduleRender();
        return c;
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

    function call(path, iface, method, args, type) {
        return client.call(path, iface, method, args, { type });
    }

    async function listContainers() {
        const [entries] = await call(MANAGER_PATH, MANAGER, "ListContainers", [], "");
        return entries.map(containerFromList);
    }

    // Root (or a session with administrative access): one GetManagedObjects, then signals.
    async function startLive() {
        client.subscribe({ interface: MANAGER, path: MANAGER_PATH }, (path, iface, signal, args) => {
            const [id, objectPath] = args;
            if (signal === "ContainerAttached" || signal === "ContainerExited")
                inTurn(() => fetchProperties(id, objectPath));
        });
        client.subscribe({ interface: "org.freedesktop.DBus.Properties", member: "PropertiesChanged", path_namespace: CONTAINERS_PATH },
                         (path, iface, signal, args) => {
                             const [changedIface, changed] = args;
                             if (changedIface !== CONTAINER)
                                 return;
                             const id = idOfPath.get(path);
                             if (id === undefined)
                                 return;
                             const fields = {};
                             applyProperties(fields, changed);
                             upsert(id, fields);
                         });
        client.subscribe({ interface: "org.freedesktop.DBus.ObjectManager", member: "InterfacesRemoved", path: CONTAINERS_PATH },
                         (path, iface, signal, args) => {
                             const id = idOfPath.get(args[0]);
                             if (id !== undefined && args[1].includes(CONTAINER))
                                 remove(id);
                         });
        const [objects] = await call(CONTAINERS_PATH, "org.freedesktop.DBus.ObjectManager", "GetManagedObjects", [], "");
        for (const [path, ifaces] of Object.entries(objects)) {
            const props = ifaces[CONTAINER];
            if (!props)
                continue;
            const fields = { path };
            applyProperties(fields, props);
            upsert(fields.id, fields);
        }
    }

    // Calls made for signals go a few at a time: an engine that attaches a thousand containers
    // at once must not make the page ask a thousand questions at once (dbus-daemon allows a
    // connection 128 calls waiting for their replies).
    const waiting = [];
    let running = 0;

    function inTurn(task) {
        waiting.push(task);
        while (running < POLL_CONCURRENCY && waiting.length > 0) {
            running++;
            waiting.shift()().finally(() => {
                running--;
                if (waiting.length > 0)
                    inTurn(waiting.shift());
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
        } catch (ex) {
            showError(dbusErrorText(ex));
        }
    }

    // Everyone else: the container properties and signals are root's (ringlogd's D-Bus policy),
    // so the page polls ListContainers and asks Inspect, which answers for the containers this
    // user may read.
    let polling = false;

    async function poll() {
        if (polling)
            return;
        polling = true;
        try {
            const listed = await listContainers();
            const ids = new Set(listed.map(c => c.id));
            for (const id of [...containers.keys()]) {
                if (!ids.has(id))
                    remove(id);
            }
            for (const c of listed)
                upsert(c.id, c);
            const queue = listed.map(c => c.id);
            const worker = async () => {
                while (queue.length > 0) {
                    const id = queue.shift();
                    try {
                        const [dict] = await call(MANAGER_PATH, MANAGER, "Inspect", [id], "s");
                        const fields = {};
                        applyProperties(fields, dict);
                        upsert(id, fields);
                    } catch (ex) {
                        // Gone between the list and the call: the next poll drops it.
                    }
                }
            };
            await Promise.all(Array.from({ length: POLL_CONCURRENCY }, worker));
            showError("");
        } catch (ex) {
            showError(dbusErrorText(ex));
        } finally {
            polling = false;
        }
    }

    async function start() {
        performance.mark("ringlog-start");
        const userAsked = cockpit.user().catch(() => ({ name: "" }));
        try {
            await startLive();
            live = true;
        } catch (ex) {
            if (ex && ex.name !== "org.freedesktop.DBus.Error.AccessDenied") {
                showError(dbusErrorText(ex));
            }
            live = false;
        }
        if (!live) {
            const user = await userAsked;
            $("notice-text").textContent =
                `Shown: the containers ringlogd lets ${user.name || "this user"} read (those it attached, and those whose ` +
                "reader-groups log option names one of its groups). Others are not listed. Counters refresh every " +
                `${SAMPLE_MS / 1000} s; with administrative access the page shows every container, live.`;
            $("notice").hidden = false;
            await poll();
        }
        takeSamples();
        let ticks = 0;
        window.setInterval(() => {
            if (!live)
                poll();
            else if (++ticks % 15 === 0)
                forgetRemoved();
            takeSamples();
        }, SAMPLE_MS);
        performance.mark("ringlog-listed");
        renderNow();
        // When the page was complete, and where the time went (for the load test).
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

    function fillRow(tr, c) {
        tr.replaceChildren();
        const check = document.createElement("input");
        check.type = "checkbox";
        check.checked = selected.has(c.id);
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
        tr.appendChild(checkCell);

        const nameCell = cell("", "rl-name");
        const link = document.createElement("a");
        link.href = "#";
        link.textContent = c.name || c.id.slice(0, 12);
        link.addEventListener("click", event => {
            event.preventDefault();
            openLog([c.id]);
        });
        nameCell.appendChild(link);
        tr.appendChild(nameCell);
        tr.appendChild(cell(c.id.slice(0, 12), "rl-id"));
        tr.appendChild(cell(c.image || ""));
        tr.appendChild(cell(c.driver || ""));
        tr.appendChild(cell(c.mode || ""));
        const stateCell = cell("");
        stateCell.appendChild(stateLabel(c));
        tr.appendChild(stateCell);
        tr.appendChild(cell(formatTime(c.attachedAt)));
        tr.appendChild(cell(formatTime(c.exitedAt)));
        tr.appendChild(cell(formatCount(c.linesIn), "rl-number"));
        tr.appendChild(cell(formatCount(c.linesDropped), c.linesDropped ? "rl-number rl-drops" : "rl-number"));
        tr.appendChild(cell(formatCount(c.bytesDropped), "rl-number"));
        tr.appendChild(cell(formatCount(c.linesSplit), "rl-number"));
        const plotCell = cell("");
        plotCell.appendChild(plot(c));
        tr.appendChild(plotCell);

        const actions = cell("");
        if (live && c.state !== "exited") {
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
                    .catch(ex => showError(`Detach ${c.name || c.id}: ${dbusErrorText(ex)}`));
            });
            actions.appendChild(detach);
        }
        tr.appendChild(actions);
        tr.dataset.id = c.id;
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
                    tr = document.createElement("tr");
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
                fillRow(tr, c);
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

    let view = null;  // the log view open now

    // One log view: a `ringlogctl logs -f` process, the records it gave, and what is shown.
    function LogView(ids) {
        this.ids = ids;
        this.held = [];      // records kept for the filter and the download (newest last)
        this.pending = [];   // records not yet rendered
        this.received = 0;
        this.paused = false;
        this.ended = "";
        this.partial = new Map();  // container and stream → the start of a line cut in parts
        this.process = null;
    }

    LogView.prototype.start = function () {
        const argv = ["ringlogctl", "logs", "--follow", "--format", "json"];
        const tail = $("tail").value.trim();
        if (tail !== "")
            argv.push("--tail", tail);
        for (const [input, option] of [["since", "--since"], ["until", "--until"]]) {
            const value = $(input).value;
            if (value)
                argv.push(option, new Date(value).toISOString());  // the browser's local time, as RFC 3339
        }
        argv.push(...this.ids);
        let buffered = "";
        this.process = cockpit.spawn(argv, { err: "message", superuser: "try" });
        this.process.stream(data => {
            buffered += data;
            const end = buffered.lastIndexOf("\n");
            if (end < 0)
                return;
            const lines = buffered.slice(0, end).split("\n");
            buffered = buffered.slice(end + 1);
            for (const line of lines) {
                if (line)
                    this.receive(line);
            }
            this.schedule();
        });
        this.process
            .then(() => {
                this.ended = "The log ended: every container shown has exited.";
                this.schedule();
            })
            .catch(ex => {
                if (this.process === null)
                    return;  // closed by the page
                this.ended = (ex && ex.message) ? ex.message.trim() : String(ex);
                this.failed = true;
                this.schedule();
            });
    };

    LogView.prototype.stop = function () {
        const process = this.process;
        this.process = null;
        if (process)
            process.close("terminated");
    };

    LogView.prototype.receive = function (text) {
        let record;
        try {
            record = JSON.parse(text);
        } catch (ex) {
            console.warn("ringlog: not a JSON record:", text.slice(0, 200));
            return;
        }
        if (record.missed !== undefined) {
            record = { missed: record.missed };
        } else {
            // A line longer than max-line arrives in parts: join them, as `ringlogctl logs` does.
            const key = (record.container_id || "") + "/" + record.stream;
            if (record.partial) {
                const start = this.partial.get(key);
                this.partial.set(key, start ? { ...record, message: start.message + record.message } : record);
                return;
            }
            const start = this.partial.get(key);
            if (start) {
                this.partial.delete(key);
                record.message = start.message + record.message;
                record.time_ns = start.time_ns;
            }
        }
        this.received++;
        this.held.push(record);
        if (this.held.length > MAX_HELD_LINES)
            this.held.splice(0, this.held.length - MAX_HELD_LINES);
        this.pending.push(record);
    };

    LogView.prototype.schedule = function () {
        if (this.renderScheduled)
            return;
        this.renderScheduled = true;
        window.requestAnimationFrame(() => {
            this.renderScheduled = false;
            this.render();
        });
    };

    LogView.prototype.lineElement = function (record) {
        const div = document.createElement("div");
        if (record.missed !== undefined) {
            div.className = "rl-line rl-missed";
            div.textContent = `-- ${formatCount(record.missed)} records missed: this view fell behind the log --`;
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
    };

    LogView.prototype.matches = function (record, filter) {
        if (!filter)
            return true;
        if (record.missed !== undefined)
            return true;
        return record.message.toLowerCase().includes(filter) || (record.container_name || "").toLowerCase().includes(filter);
    };

    // New records go to the DOM once a frame, at most MAX_DOM_LINES of them, and the oldest
    // lines leave it: however fast a container writes, a frame costs at most that much.
    LogView.prototype.render = function () {
        const box = $("log-lines");
        const filter = $("log-filter").value.trim().toLowerCase();
        if (!this.paused && this.pending.length > 0) {
            let records = this.pending.filter(r => this.matches(r, filter));
            this.pending = [];
            if (records.length > MAX_DOM_LINES)
                records = records.slice(records.length - MAX_DOM_LINES);
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
    };

    // Filter changed: redraw from what is held.
    LogView.prototype.redraw = function () {
        $("log-lines").replaceChildren();
        const filter = $("log-filter").value.trim().toLowerCase();
        this.pending = this.held.filter(r => this.matches(r, filter));
        this.render();
    };

    LogView.prototype.status = function () {
        const shown = $("log-lines").childElementCount;
        const parts = [];
        if (this.paused)
            parts.push(`Paused: ${formatCount(this.pending.length)} new lines wait.`);
        parts.push(`Showing ${formatCount(shown)} lines of ${formatCount(this.received)} received.`);
        if (this.received > shown && !this.paused)
            parts.push(`The page keeps the newest ${formatCount(MAX_DOM_LINES)} on screen and ${formatCount(MAX_HELD_LINES)} for the filter and the download.`);
        if (this.ended)
            parts.push(this.ended);
        else
            parts.push("Following.");
        $("log-status").textContent = parts.join(" ");
        $("log-status").classList.toggle("rl-failed", !!this.failed);
    };

    LogView.prototype.text = function () {
        const filter = $("log-filter").value.trim().toLowerCase();
        return this.held.filter(r => this.matches(r, filter) && r.missed === undefined).map(r => {
            const who = this.ids.length > 1 ? ` ${r.container_name || r.container_id}` : "";
            return `${r.time}${who} ${r.stream} ${r.message.replace(/\r?\n$/, "")}\n`;
        }).join("");
    };

    function titleOf(ids) {
        return ids.map(id => {
            const c = containers.get(id);
            return c ? (c.name || id.slice(0, 12)) : id.slice(0, 12);
        }).join(", ");
    }

    function openLog(ids) {
        closeLog();
        $("containers-view").hidden = true;
        $("log-view").hidden = false;
        $("log-title").textContent = titleOf(ids);
        $("log-lines").replaceChildren();
        $("pause").textContent = "Pause";
        view = new LogView(ids);
        view.start();
        view.status();
        cockpit.location.go([], { logs: ids.join(",") });
    }

    function closeLog() {
        if (view)
            view.stop();
        view = null;
    }

    function showContainers() {
        closeLog();
        $("log-view").hidden = true;
        $("containers-view").hidden = false;
        cockpit.location.go([]);
        refreshAll();
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
        $("utc").addEventListener("change", () => {
            utc = $("utc").checked;
            refreshAll();
            if (view)
                view.redraw();
        });
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
            view.paused = !view.paused;
            $("pause").textContent = view.paused ? "Resume" : "Pause";
            view.render();
        });
        $("download").addEventListener("click", download);
        window.addEventListener("beforeunload", closeLog);
    }

    document.addEventListener("DOMContentLoaded", () => {
        wire();
        const wanted = cockpit.location.options.logs;
        start().then(() => {
            if (wanted)
                openLog(String(wanted).split(",").filter(Boolean));
        }).catch(ex => showError(dbusErrorText(ex)));
    });
}());
