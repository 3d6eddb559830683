"""The load suite's report: figures and ratios as a table, the targets checked, the chart."""

HIGHER, LOWER = "higher", "lower"


def fmt_figure(value, unit):
    if value is None:
        return "-"
    if unit in ("ms",):
        return f"{value:.3f} {unit}"
    if unit == "KiB/session":
        return f"{value:.2f} KiB"
    return f"{value:,.0f} {unit}" if value >= 100 else f"{value:.1f} {unit}"


def ratio(a, b):
    if a is None or b is None or b == 0:
        return None
    return a / b


def fmt_ratio(r):
    return "-" if r is None else f"{r:.2f}"


def build_rows(metrics, servers):
    """metrics: list of (key, title, unit, better, {server key: value})."""
    rows = []
    for key, title, unit, better, values in metrics:
        peers = [values.get(s.key) for s in servers if s.peer and values.get(s.key) is not None]
        best_peer = None
        if peers:
            best_peer = max(peers) if better == HIGHER else min(peers)
        direct = values.get("direct")
        for s in servers:
            v = values.get(s.key)
            if v is None and s.direct:
                continue
            rows.append({"metric": key, "title": title, "unit": unit, "better": better,
                         "server": s.key, "label": s.label, "value": v,
                         "to_direct": ratio(v, direct),
                         "to_best_peer": ratio(v, best_peer)})
    return rows


def print_table(rows, protected_rows):
    head = ("metric", "server", "figure", "x direct", "x best peer")
    table = [head]
    last = None
    for r in rows:
        title = r["title"] if r["metric"] != last else ""
        last = r["metric"]
        table.append((title, r["label"], fmt_figure(r["value"], r["unit"]),
                      fmt_ratio(r["to_direct"]), fmt_ratio(r["to_best_peer"])))
    for r in protected_rows:
        table.append((r["title"], r["server"], fmt_figure(r["value"], r["unit"]),
                      f"{fmt_ratio(r['ratio'])} x {r['reference_title']}", ""))
    widths = [max(len(row[i]) for row in table) for i in range(len(head))]
    lines = []
    for i, row in enumerate(table):
        lines.append("  ".join(c.ljust(w) if j < 2 else c.rjust(w)
                               for j, (c, w) in enumerate(zip(row, widths))).rstrip())
        if i == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def checks(values, servers, protected, memory_point):
    """The targets, each met or not from this run's figures."""
    ours = [s for s in servers if s.key.startswith("socks5-proxy")]
    out = []

    def best_ours(metric, better):
        cands = [(values[metric].get(s.key), s) for s in ours
                 if values[metric].get(s.key) is not None]
        if not cands:
            return None, None
        return (max if better == HIGHER else min)(cands, key=lambda c: c[0])

    def add(text, value, limit, ok_if):
        met = None
        if value is not None and limit is not None:
            met = value >= limit if ok_if == ">=" else value <= limit
        out.append({"target": text, "value": value, "limit": limit, "met": met})

    for metric, title in (("bulk1", "bulk 1 stream"), ("bulk8", "bulk 8 streams")):
        v, s = best_ours(metric, HIGHER)
        who = s.label if s else "socks5-proxy"
        d, dan = values[metric].get("direct"), values[metric].get("danted")
        add(f"{title}: {who} >= 0.9 x direct", v, None if d is None else 0.9 * d, ">=")
        add(f"{title}: {who} >= 2 x danted", v, None if dan is None else 2 * dan, ">=")
    v, s = best_ours("cps", HIGHER)
    who = s.label if s else "socks5-proxy"
    m, d = values["cps"].get("microsocks"), values["cps"].get("direct")
    add(f"cps: {who} >= 2 x microsocks", v, None if m is None else 2 * m, ">=")
    add(f"cps: {who} >= 0.5 x direct", v, None if d is None else 0.5 * d, ">=")
    if memory_point:
        v, s = best_ours(memory_point, LOWER)
        who = s.label if s else "socks5-proxy"
        add(f"RSS per idle session at the largest count: {who} <= 4 KiB", v, 4.0, "<=")
    gss = protected.get("gss-throughput")
    if gss:
        for level in ("level1", "level2"):
            g = gss[level]
            add(f"GSS {level.replace('level', 'level ')}: relay >= 0.8 x wrap+unwrap",
                g["relay_mib_per_s"], 0.8 * g["wrap_unwrap_mib_per_s"], ">=")
    ssl = protected.get("ssl-throughput")
    if ssl:
        add("SSL: relay >= 0.6 x unprotected relay", ssl["ssl_relay_mib_per_s"],
            0.6 * ssl["plain_relay_mib_per_s"], ">=")
    return out


def protected_rows(protected):
    rows = []
    gss = protected.get("gss-throughput")
    if gss:
        for level, name in (("level1", "level 1"), ("level2", "level 2")):
            g = gss[level]
            rows.append({"metric": f"gss_{level}", "title": f"GSS {name} relay",
                         "server": "socks5::server", "unit": "MiB/s",
                         "value": g["relay_mib_per_s"],
                         "reference": g["wrap_unwrap_mib_per_s"],
                         "reference_title": "wrap+unwrap",
                         "ratio": ratio(g["relay_mib_per_s"], g["wrap_unwrap_mib_per_s"])})
    ssl = protected.get("ssl-throughput")
    if ssl:
        rows.append({"metric": "ssl", "title": "SSL relay", "server": "socks5::server",
                     "unit": "MiB/s", "value": ssl["ssl_relay_mib_per_s"],
                     "reference": ssl["plain_relay_mib_per_s"],
                     "reference_title": "unprotected relay",
                     "ratio": ratio(ssl["ssl_relay_mib_per_s"], ssl["plain_relay_mib_per_s"])})
    for method, name, server in (("ssl", "SSL", "socks5-proxy ssl 1 thr"),
                                 ("gss", "GSS-API level 2", "socks5-proxy gssapi 1 thr")):
        idle = protected.get(f"{method}-idle")
        if idle:
            rows.append({"metric": f"{method}_idle",
                         "title": f"RSS per idle {name} session ({idle['sessions']} held)",
                         "server": server, "unit": "KiB/session",
                         "value": idle[f"{method}_kib"], "reference": idle["plain_kib"],
                         "reference_title": "unprotected idle session",
                         "ratio": ratio(idle[f"{method}_kib"], idle["plain_kib"])})
    return rows


def chart(path, rows, servers, title):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ratio_metrics, mem_metrics = [], []
    for r in rows:
        target = mem_metrics if r["unit"] == "KiB/session" else ratio_metrics
        if r["unit"] != "ms" and r["metric"] not in [m for m, _ in target]:
            target.append((r["metric"], r["title"]))
    proxies = [s for s in servers if not s.direct]
    fig, axes = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [3, 2]})
    width = 0.8 / max(1, len(proxies))
    for ax, metrics, field, ylabel in (
            (axes[0], ratio_metrics, "to_direct", "ratio to direct connection"),
            (axes[1], mem_metrics, "value", "KiB per idle CONNECT session")):
        for i, s in enumerate(proxies):
            heights = []
            for m, _ in metrics:
                v = next((r[field] for r in rows if r["metric"] == m and r["server"] == s.key),
                         None)
                heights.append(0 if v is None else v)
            xs = [j + (i - (len(proxies) - 1) / 2) * width for j in range(len(metrics))]
            ax.bar(xs, heights, width, label=s.label)
        ax.set_xticks(range(len(metrics)))
        ax.set_xticklabels([t for _, t in metrics], rotation=15, ha="right", fontsize=8)
        ax.set_ylabel(ylabel)
        ax.grid(axis="y", alpha=0.3)
    axes[0].axhline(1.0, color="black", linewidth=0.8)
    axes[0].legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


# ---- main ----
