/* The leaderboard page: table, judge/control switch, sorting, CI chart, per-cluster view.
   All data is inline in the page (#koarena-data), so it renders without further requests. */
(function () {
  "use strict";
  const K = window.koarena;
  const { all: data, categories } = K.pageData();

  const NUMERIC_FIRST_DESC = { score: true, ci: true, avg_tokens: true, problems: true,
    rate: true, battles: true, questions: true, all: true };
  const p = K.params();
  // A bench with categories (Arena-Hard v2.0) has one set of boards per category, each
  // against its own baseline; the page shows one category at a time.
  const names = categories.map((c) => c.name);
  const state = {
    category: names.includes(p.get("category")) ? p.get("category") : (names[0] || ""),
    judge: data.judges.includes(p.get("judge")) ? p.get("judge") : data.judges[0],
    control: data.controls.includes(p.get("control")) ? p.get("control") : data.controls[0],
    sort: p.get("sort") || "rank",
    dir: p.get("dir") === "desc" ? "desc" : p.get("dir") === "asc" ? "asc" : null,
    cmodel: p.get("cmodel") || "",
    csort: p.get("csort") || "rate",
    cdir: p.get("cdir") === "asc" ? "asc" : "desc",
  };
  if (!state.dir) state.dir = NUMERIC_FIRST_DESC[state.sort] ? "desc" : "asc";

  function view() {
    return categories.find((c) => c.name === state.category) || data;
  }

  function board() {
    const byJudge = view().boards[state.judge];
    const rows = byJudge[state.control] || byJudge[data.controls[0]];
    return rows.map((r, i) => Object.assign({ rank: i + 1 }, r));
  }

  function sortValue(row, key) {
    if (key === "ci") return row.upper === null ? -1 : row.upper - row.lower;
    if (key === "problems") return K.problemCount(row);
    return row[key];
  }

  function compare(key, dir) {
    const sign = dir === "asc" ? 1 : -1;
    return (x, y) => {
      const a = sortValue(x, key);
      const b = sortValue(y, key);
      if (a === b) return x.rank - y.rank;
      if (typeof a === "string") return sign * a.localeCompare(b);
      return sign * (a < b ? -1 : 1);
    };
  }

  function saveState() {
    K.setParams({
      category: state.category === (names[0] || "") ? "" : state.category,
      judge: state.judge === data.judges[0] ? "" : state.judge,
      control: state.control === data.controls[0] ? "" : state.control,
      sort: state.sort === "rank" ? "" : state.sort,
      dir: state.sort === "rank" && state.dir === "asc" ? "" : state.dir,
      cmodel: state.cmodel,
      csort: state.csort === "rate" ? "" : state.csort,
      cdir: state.cdir === "desc" ? "" : state.cdir,
    }, false);
  }

  function markSorted(table, key, dir) {
    for (const th of table.querySelectorAll("th[data-key]")) {
      if (th.dataset.key === key) th.setAttribute("aria-sort", dir === "asc" ? "ascending" : "descending");
      else th.removeAttribute("aria-sort");
    }
  }

  function renderTable() {
    const rows = board().sort(compare(state.sort, state.dir));
    const tbody = document.querySelector("#board tbody");
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      const isBase = r.model === view().baseline;
      const link = K.el("a", { className: "model-page", href: "model.html?model=" + encodeURIComponent(r.model), text: r.model });
      const browse = K.el("a", { className: "browse-link", href: K.browseUrl(r.model), title: "browse this model's answers and verdicts", text: "answers" });
      const ci = r.lower === null ? "–"
        : "-" + K.fmt(r.score - r.lower, 2) + " / +" + K.fmt(r.upper - r.score, 2);
      frag.appendChild(K.el("tr", { className: isBase ? "baseline" : "", "data-model": r.model }, [
        K.el("td", { className: "num rank", text: r.rank }),
        K.el("td", { className: "model" }, [isBase ? r.model : link, isBase ? K.el("span", { className: "badge badge-base", text: "baseline" }) : " ", isBase ? null : browse]),
        K.el("td", { className: "num score", text: K.fmt(r.score, 2) }),
        K.el("td", { className: "num ci", title: r.lower === null ? "" : K.fmt(r.lower, 2) + " – " + K.fmt(r.upper, 2), text: ci }),
        K.el("td", { className: "num tokens", text: r.avg_tokens }),
        K.el("td", { className: "problems" }, K.problemBadges(r)),
      ]));
    }
    tbody.replaceChildren(frag);
    markSorted(document.getElementById("board"), state.sort, state.dir);
  }

  function renderChart() {
    const rows = board();
    const rowH = 16, left = 230, right = 20, top = 24, width = 820;
    const plotW = width - left - right;
    const height = top + rows.length * rowH + 10;
    const x = (v) => left + (v / 100) * plotW;
    const root = K.svg("svg", { viewBox: "0 0 " + width + " " + height, width: width, height: height,
      role: "img", "aria-label": "Win rate against the baseline with 95% confidence intervals" });
    for (let t = 0; t <= 100; t += 10) {
      root.appendChild(K.svg("line", { x1: x(t), x2: x(t), y1: top - 6, y2: height - 6, class: t === 50 ? "axis-mid" : "grid" }));
      root.appendChild(K.svg("text", { x: x(t), y: top - 10, class: "tick", "text-anchor": "middle" }, t));
    }
    rows.forEach((r, i) => {
      const y = top + i * rowH + rowH / 2;
      const g = K.svg("g", { class: r.model === view().baseline ? "row baseline" : "row" });
      g.appendChild(K.svg("title", {}, r.model + ": " + K.fmt(r.score, 2) +
        (r.lower === null ? "" : " (" + K.fmt(r.lower, 2) + " – " + K.fmt(r.upper, 2) + ")")));
      g.appendChild(K.svg("text", { x: left - 8, y: y + 4, class: "label", "text-anchor": "end" }, r.model));
      if (r.lower !== null) {
        g.appendChild(K.svg("line", { x1: x(r.lower), x2: x(r.upper), y1: y, y2: y, class: "ci" }));
      }
      g.appendChild(K.svg("circle", { cx: x(r.score), cy: y, r: 3.5, class: "dot" }));
      root.appendChild(g);
    });
    document.getElementById("chart-box").replaceChildren(root);
  }

  function clusterRows() {
    const c = view().clusters[state.judge];
    const rates = c.rates[state.cmodel] || [];
    const models = Object.keys(c.rates);
    return c.names.map((name, i) => {
      let sum = 0, n = 0;
      for (const m of models) {
        const v = c.rates[m][i];
        if (v) { sum += v[0]; n += 1; }
      }
      const own = rates[i];
      return {
        rank: i, name: name, en: c.en[i], questions: c.questions[i],
        rate: own ? own[0] : -1, battles: own ? own[1] : 0, all: n ? sum / n : -1,
      };
    });
  }

  function bar(value) {
    if (value < 0) return K.el("span", { className: "muted", text: "–" });
    const fill = K.el("span", { className: "bar-fill" });
    // CSSOM, not a style attribute: the page's Content-Security-Policy allows only the former.
    fill.style.width = value + "%";
    const b = K.el("span", { className: "bar" }, [fill]);
    return K.el("span", { className: "bar-cell" }, [b, K.el("span", { text: K.fmt(value, 1) })]);
  }

  function renderClusters() {
    const select = document.getElementById("cluster-model");
    const models = board().map((r) => r.model).filter((m) => m in view().clusters[state.judge].rates);
    if (!models.includes(state.cmodel)) state.cmodel = models[0] || "";
    select.replaceChildren(...models.map((m) => K.el("option", { value: m, text: m, selected: m === state.cmodel })));
    const rows = clusterRows().sort(compare(state.csort, state.cdir));
    const frag = document.createDocumentFragment();
    for (const r of rows) {
      frag.appendChild(K.el("tr", {}, [
        K.el("td", { title: r.en }, [K.el("a", { href: K.browseUrl(state.cmodel, { cluster: r.name }), text: r.name })]),
        K.el("td", { className: "num", text: r.questions }),
        K.el("td", { className: "num", text: r.battles }),
        K.el("td", { className: "num rate" }, [bar(r.rate)]),
        K.el("td", { className: "num", text: r.all < 0 ? "–" : K.fmt(r.all, 1) }),
      ]));
    }
    document.querySelector("#cluster-table tbody").replaceChildren(frag);
    markSorted(document.getElementById("cluster-table"), state.csort, state.cdir);
  }

  function render() {
    if (categories.length) {
      document.getElementById("category-select").value = state.category;
      document.getElementById("baseline-name").textContent = view().baseline;
      document.getElementById("question-count").textContent = view().questions;
    }
    document.getElementById("judge-select").value = state.judge;
    for (const input of document.querySelectorAll("input[name=control]")) {
      input.checked = input.value === state.control;
    }
    renderTable();
    renderChart();
    renderClusters();
  }

  if (categories.length) {
    document.getElementById("category-select").addEventListener("change", (e) => {
      state.category = e.target.value; saveState(); render();
    });
  }
  document.getElementById("judge-select").addEventListener("change", (e) => {
    state.judge = e.target.value; saveState(); render();
  });
  for (const input of document.querySelectorAll("input[name=control]")) {
    input.addEventListener("change", (e) => {
      if (e.target.checked) { state.control = e.target.value; saveState(); render(); }
    });
  }
  for (const th of document.querySelectorAll("#board th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      if (state.sort === key) state.dir = state.dir === "asc" ? "desc" : "asc";
      else { state.sort = key; state.dir = NUMERIC_FIRST_DESC[key] ? "desc" : "asc"; }
      saveState(); renderTable();
    });
  }
  for (const th of document.querySelectorAll("#cluster-table th[data-key]")) {
    th.querySelector("button").addEventListener("click", () => {
      const key = th.dataset.key;
      if (state.csort === key) state.cdir = state.cdir === "asc" ? "desc" : "asc";
      else { state.csort = key; state.cdir = NUMERIC_FIRST_DESC[key] ? "desc" : "asc"; }
      saveState(); renderClusters();
    });
  }
  document.getElementById("cluster-model").addEventListener("change", (e) => {
    state.cmodel = e.target.value; saveState(); renderClusters();
  });

  render();
  document.body.dataset.ready = "1";
  performance.mark("koarena-ready"); // read by benchmarks/bench_report.py
})();
