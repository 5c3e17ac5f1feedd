/* The analysis page: one table per section of `koarena analyze`, from the page's inline data
   (#koarena-data). A section the data cannot answer shows "not available" and the reason.
   Every table sorts by each column; the Korean-fidelity table keeps its order in the URL. */
(function () {
  "use strict";
  const K = window.koarena;
  const el = K.el;
  // One analysis per category (if the bench has categories), each against its own baseline.
  const page = K.categoryPage();
  let category = "";
  let browsable = new Set(page.data.browse_models);

  const pct = (x) => K.fmt(x === null || x === undefined ? null : 100 * x, 1);
  const int = (x) => (x === null || x === undefined ? "–" : String(x));

  function modelCell(model, baseline) {
    if (model === baseline) return [model, el("span", { className: "badge badge-base", text: "baseline" })];
    if (browsable.has(model)) return el("a", { href: K.browseUrl(model), text: model });
    return model;
  }

  /* A table sorted by any column. columns: {key, label, title?, num?, value(row), cell(row)};
     state: {sort, dir}, changed in place; onSort(state) is called after each change. */
  function sortable(id, columns, rows, state, onSort) {
    const ths = columns.map((c) => el("th", { "data-key": c.key, className: c.num ? "num" : "", title: c.title },
      [el("button", { type: "button", text: c.label })]));
    const tbody = el("tbody");
    const table = el("table", { id: id, className: "board" }, [el("thead", {}, [el("tr", {}, ths)]), tbody]);

    function key(v) { return v === null || v === undefined ? -Infinity : v; }
    function draw() {
      const col = columns.find((c) => c.key === state.sort) || columns[0];
      const sign = state.dir === "asc" ? 1 : -1;
      const order = rows.map((r, i) => [r, i]).sort(([x, i], [y, j]) => {
        const a = key(col.value(x));
        const b = key(col.value(y));
        if (a === b) return i - j;
        if (typeof a === "string" && typeof b === "string") return sign * a.localeCompare(b);
        return sign * (a < b ? -1 : 1);
      });
      tbody.replaceChildren(...order.map(([r]) => el("tr", { "data-row": r.id },
        columns.map((c) => el("td", { className: (c.num ? "num " : "") + "c-" + c.key }, [].concat(c.cell(r)))))));
      for (const th of ths) {
        if (th.dataset.key === col.key) th.setAttribute("aria-sort", state.dir === "asc" ? "ascending" : "descending");
        else th.removeAttribute("aria-sort");
      }
    }
    ths.forEach((th, i) => {
      th.querySelector("button").addEventListener("click", () => {
        const c = columns[i];
        if (state.sort === c.key) state.dir = state.dir === "asc" ? "desc" : "asc";
        else { state.sort = c.key; state.dir = c.num && c.key !== "rank" ? "desc" : "asc"; }
        draw();
        if (onSort) onSort(state);
      });
    });
    draw();
    return el("div", { className: "table-box" }, [table]);
  }

  function plain(id, columns, rows) {
    return sortable(id, columns, rows, { sort: columns[0].key, dir: "asc" }, null);
  }

  const col = (key, label, value, cell, extra) =>
    Object.assign({ key: key, label: label, value: value, cell: cell || ((r) => String(value(r))) }, extra || {});
  const numCol = (key, label, value, show, title) =>
    col(key, label, value, (r) => show(value(r)), { num: true, title: title });

  function korean(s) {
    const rows = s.models.map((r, i) => Object.assign({ id: r.model, rank: i + 1 }, r));
    const columns = [
      numCol("rank", "#", (r) => r.rank, int, "order of the analysis: lowest Hangul share first"),
      col("model", "Model", (r) => r.model, (r) => modelCell(r.model, s.baseline)),
      numCol("scored", "Scored", (r) => r.scored, int, "answers with prose letters (failed and empty answers are not scored)"),
      numCol("hangul", "Hangul %", (r) => r.mean_hangul_share, pct, "mean Hangul share of the prose, lines that look like unfenced code set aside"),
      numCol("raw", "Raw %", (r) => r.mean_raw_hangul_share, pct, "mean Hangul share of all letters outside code, math and URLs"),
      numCol("not-korean", "Not Korean", (r) => r.not_korean, int, "answers with fewer than half of the words in Hangul"),
      numCol("drift", "…baseline Korean", (r) => r.not_korean_where_baseline_korean, int,
        "answers not primarily in Korean where the baseline's answer was"),
      numCol("intrusions", "Intrusions", (r) => r.intrusions, int, "runs of foreign scripts on lines with Hangul"),
      numCol("intruded", "Answers w/ intr.", (r) => r.answers_with_intrusions, int, "answers with at least one intrusion"),
    ];
    for (const script of page.data.scripts) {
      columns.push(numCol("script-" + script, script, (r) => r.intrusions_by_script[script] || 0, int,
        "intrusions in " + script + " script"));
    }
    const p = K.params();
    const state = { sort: columns.some((c) => c.key === p.get("sort")) ? p.get("sort") : "rank" };
    state.dir = p.get("dir") === "desc" || p.get("dir") === "asc" ? p.get("dir") : state.sort === "rank" ? "asc" : "desc";
    const save = (st) => K.setParams({
      category: category,
      sort: st.sort === "rank" ? "" : st.sort,
      dir: st.sort === "rank" && st.dir === "asc" ? "" : st.dir,
    }, false);
    return [
      el("p", { className: "meta", text: rows.length + " models; an answer is not primarily Korean when fewer than " +
        pct(s.threshold) + "% of its words have Hangul; drift is counted against the baseline " + s.baseline + "." }),
      sortable("korean-table", columns, rows, state, save),
    ];
  }

  function separability(s) {
    const rows = Object.entries(s.controls).map(([name, e]) => Object.assign({ id: name, control: name }, e));
    const columns = [
      col("control", "Control", (r) => r.control),
      numCol("models", "Models", (r) => r.models, int),
      numCol("pairs", "Pairs", (r) => r.pairs, int),
      numCol("separated", "Separated pairs", (r) => r.separated_pairs, int),
      numCol("separability", "Separability %", (r) => r.separability, pct),
    ];
    if (rows.some((r) => r.reference)) {
      const ref = (k) => (r) => (r.reference ? r.reference[k] : null);
      columns.push(
        numCol("agreement", "Agreement w/ CI %", ref("agreement_with_confidence"), pct),
        numCol("spearman", "Spearman", ref("spearman"), (x) => K.fmt(x, 3)),
        numCol("kendall", "Kendall", ref("kendall"), (x) => K.fmt(x, 3)),
        numCol("brier", "Brier", ref("brier"), (x) => K.fmt(x, 3),
          "Bradley–Terry win probability of the reference's better model, scored against the reference's order (0 = perfect, 0.25 = coin flip)"),
        numCol("rank-brier", "Rank Brier", ref("rank_brier"), (x) => K.fmt(x, 3),
          "share of bootstrap rounds ranking the reference's better model higher, scored the same way"),
      );
    }
    return [
      el("p", { className: "meta", text: "Leaderboard of " + s.judges.join(", ") + ", " + s.rounds + " bootstrap rounds." }),
      plain("separability-table", columns, rows),
    ];
  }

  function positions(s) {
    const rows = s.judges.map((r) => Object.assign({ id: r.judge }, r));
    return plain("positions-table", [
      col("judge", "Judge", (r) => r.judge),
      numCol("judgments", "Judgments", (r) => r.judgments, int, "judgments with both games labelled"),
      numCol("consistent", "Consistent %", (r) => r.consistency, pct),
      numCol("exact", "Exactly consistent %", (r) => r.exact_consistency, pct),
      numCol("games", "Games", (r) => r.games, int, "labelled games"),
      numCol("first", "First shown wins %", (r) => r.first_win_share, pct, "of all labelled games"),
      numCol("first-decisive", "First shown wins, decisive %", (r) => r.first_decisive_share, pct,
        "of the games that are not ties; 50% = no position bias"),
    ], rows);
  }

  function agreement(s) {
    const rows = s.pairs.map((r) => Object.assign({ id: r.judge_a + "\n" + r.judge_b }, r));
    const kappa = (x) => K.fmt(x, 3);
    return plain("agreement-table", [
      col("judge-a", "Judge A", (r) => r.judge_a),
      col("judge-b", "Judge B", (r) => r.judge_b),
      numCol("games", "Games", (r) => r.games, int),
      numCol("exact", "Exact %", (r) => r.exact, pct),
      numCol("winner", "Winner %", (r) => r.winner, pct, "same winner, ignoring strength"),
      numCol("kappa", "Kappa", (r) => r.kappa, kappa),
      numCol("winner-kappa", "Winner kappa", (r) => r.winner_kappa, kappa),
    ], rows);
  }

  function families(s) {
    const rules = Object.entries(s.families || {}).map(([judge, models]) => judge + " → " + models.join(", "));
    return el("p", { className: "meta", text: "Family rules: " + (rules.join("; ") || "none") + "." });
  }

  function selfPreference(s) {
    if (!s.rows.length) return [families(s), el("p", { className: "muted", text: "No model of a judge's family is on the leaderboard." })];
    const rows = s.rows.map((r) => Object.assign({ id: r.judge + "\n" + r.model }, r));
    const pp = (x) => K.fmt(x, 2);
    return [families(s), plain("self-preference-table", [
      col("judge", "Judge", (r) => r.judge),
      col("model", "Model", (r) => r.model, (r) => modelCell(r.model, null)),
      numCol("questions", "Questions", (r) => r.questions, int),
      numCol("self", "Own judge %", (r) => r.win_rate_self, pp),
      numCol("others", "Other judges %", (r) => r.win_rate_others, pp),
      numCol("difference", "Difference (pp)", (r) => r.difference, pp),
      col("ci", "95% CI", (r) => r.lower, (r) => "[" + pp(r.lower) + ", " + pp(r.upper) + "]", { num: true }),
    ], rows)];
  }

  const sizes = (q) => (q.min === q.max ? String(q.min) : q.min + "–" + q.max);

  function clusters(s) {
    const rows = Object.entries(s.models).map(([model, e]) => ({ id: model, model: model, weakest: e.weakest }));
    const link = (model, w) => {
      const label = w.cluster + " " + K.fmt(w.win_rate, 1) + "%";
      const title = w.battles + " battles";
      return browsable.has(model) ? el("a", { href: K.browseUrl(model, { cluster: w.cluster }), title: title, text: label })
        : el("span", { title: title, text: label });
    };
    return [
      el("p", { className: "meta", text: s.clusters + " clusters of " + sizes(s.questions_per_cluster) +
        " questions; leaderboard of " + s.judges.join(", ") + "." }),
      plain("clusters-table", [
        col("model", "Model", (r) => r.model, (r) => modelCell(r.model, null)),
        col("lowest", "Lowest %", (r) => (r.weakest.length ? r.weakest[0].win_rate : null),
          (r) => K.fmt(r.weakest.length ? r.weakest[0].win_rate : null, 1), { num: true }),
        col("weakest", "Weakest clusters", (r) => r.weakest.length,
          (r) => el("ul", { className: "weakest" }, r.weakest.map((w) => el("li", {}, [link(r.model, w)])))),
      ], rows),
    ];
  }

  const RENDER = {
    korean_fidelity: korean, separability: separability, position_consistency: positions,
    judge_agreement: agreement, self_preference: selfPreference, clusters: clusters,
  };
  function render() {
    for (const section of document.querySelectorAll("section[data-section]")) {
      const s = page.data[section.dataset.section];
      let parts;
      if (!s.available) {
        const note = el("p", { className: "unavailable" }, [el("strong", { text: "not available" }), " — " + s.reason]);
        parts = s.families ? [note, families(s)] : [note];
      } else {
        parts = [].concat(RENDER[section.dataset.section](s));
      }
      const old = section.querySelector(".section-body");
      if (old) old.remove();
      section.append(el("div", { className: "section-body" }, parts));
    }
  }

  function useCategory(name) {
    const found = page.show(name);
    category = found.name === page.categories[0].name ? "" : found.name;
    browsable = new Set(page.data.browse_models);
  }

  if (page.categories.length) {
    useCategory(K.params().get("category"));
    document.getElementById("category-select").addEventListener("change", (e) => {
      useCategory(e.target.value);
      K.setParams({ category: category }, true);
      render();
    });
    window.addEventListener("popstate", () => { useCategory(K.params().get("category")); render(); });
  }
  render();
  document.body.dataset.ready = "1";
})();
