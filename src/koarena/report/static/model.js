/* The per-model page: model.html?model=M. Its data is inline (#koarena-data); every name and
   id goes into the page as text, none as HTML. */
(function () {
  "use strict";
  const K = window.koarena;
  const el = K.el;
  // One page's data per category (if the bench has categories), each against its own baseline.
  const page = K.categoryPage();
  const $ = (id) => document.getElementById(id);
  const pct = (x) => (x === null || x === undefined ? "–" : (100 * x).toFixed(1) + "%");

  function renderScores(entry) {
    const controls = [];
    for (const j of page.data.judges) for (const c of Object.keys(entry.scores[j])) if (!controls.includes(c)) controls.push(c);
    $("score-table").querySelector("thead").replaceChildren(el("tr", {}, [
      el("th", { text: "Judge" }), ...controls.map((c) => el("th", { className: "num", text: c })),
    ]));
    $("score-table").querySelector("tbody").replaceChildren(...page.data.judges.map((j) => el("tr", { "data-judge": j }, [
      el("td", { text: j }),
      ...controls.map((c) => {
        const s = entry.scores[j][c];
        if (!s) return el("td", { className: "num", text: "–" });
        const ci = s.lower === null ? "" : " (" + K.fmt(s.lower, 2) + " – " + K.fmt(s.upper, 2) + ")";
        return el("td", { className: "num", "data-control": c, text: K.fmt(s.score, 2) + ci + " #" + s.rank });
      }),
    ])));
  }

  function renderKorean(model, entry) {
    const k = entry.korean;
    const body = $("korean-table").querySelector("tbody");
    const list = $("not-korean");
    if (!k) {
      body.replaceChildren(el("tr", {}, [el("td", { text: "no answer file" })]));
      list.replaceChildren();
      return;
    }
    const rows = [
      ["Answers scored", k.scored + " of " + k.answers + (k.failed ? " (" + k.failed + " failed)" : "") + (k.empty ? " (" + k.empty + " empty)" : "")],
      ["Mean Hangul share", pct(k.mean_hangul_share) + " (baseline " + pct(page.data.korean_baseline) + ")"],
      ["Mean raw Hangul share", pct(k.mean_raw_hangul_share)],
      ["Lowest Hangul share", pct(k.min_hangul_share)],
      ["Not Korean", String(k.not_korean)],
      ["Drift (baseline answered in Korean)", k.not_korean_where_baseline_korean === null ? "–" : String(k.not_korean_where_baseline_korean)],
      ["Foreign-script intrusions", k.intrusions + " in " + k.answers_with_intrusions + " answers" +
        (k.intrusions ? " (" + Object.entries(k.intrusions_by_script).map(([s, n]) => s + " " + n).join(", ") + ")" : "")],
    ];
    body.replaceChildren(...rows.map(([name, value]) => el("tr", {}, [el("th", { text: name }), el("td", { className: "num", text: value })])));
    list.replaceChildren(...k.not_korean_listed.map((qid) => el("li", {}, [
      el("a", { href: K.browseUrl(model, { question: qid }), text: qid }),
    ])));
    if (!k.not_korean_listed.length) list.replaceChildren(el("li", { className: "muted", text: "none" }));
  }

  function renderWeakest(model, entry) {
    $("weakest").replaceChildren(...page.data.judges.map((j) => el("div", { className: "judge", "data-judge": j }, [
      el("h3", { text: j }),
      el("table", { className: "board" }, [
        el("thead", {}, [el("tr", {}, [el("th", { text: "Cluster" }), el("th", { className: "num", text: "Win rate" }), el("th", { className: "num", text: "Battles" })])]),
        el("tbody", {}, entry.weakest[j].map((w) => el("tr", {}, [
          el("td", {}, [el("a", { href: K.browseUrl(model, { cluster: w.cluster }), text: w.cluster })]),
          el("td", { className: "num", text: K.fmt(w.win_rate, 1) + "%" }),
          el("td", { className: "num", text: w.battles }),
        ]))),
      ]),
    ])));
  }

  function renderAgreement(entry) {
    const box = $("agreement-box");
    if (page.data.judges.length < 2) {
      box.replaceChildren(el("p", { className: "muted", text: "not available: the site shows the verdicts of one judge (" + page.data.judges.join(", ") + "); agreement needs at least two" }));
      return;
    }
    box.replaceChildren(el("table", { className: "board" }, [
      el("thead", {}, [el("tr", {}, ["Judges", "Games", "Exact", "Winner", "κ", "Winner κ"].map((h, i) => el("th", { className: i ? "num" : "", text: h })))]),
      el("tbody", {}, entry.agreement.map((a) => el("tr", {}, [
        el("td", { text: a.judge_a + " · " + a.judge_b }),
        el("td", { className: "num", text: a.games }),
        el("td", { className: "num", text: pct(a.exact) }),
        el("td", { className: "num", text: pct(a.winner) }),
        el("td", { className: "num", text: K.fmt(a.kappa, 2) }),
        el("td", { className: "num", text: K.fmt(a.winner_kappa, 2) }),
      ]))),
    ]));
  }

  function show(model) {
    const entry = page.data.by_model[model];
    $("model-name").textContent = model;
    document.title = model + " · " + document.title.split(" · ").slice(-1)[0];
    $("model-select").value = model;
    $("browse-link").setAttribute("href", K.browseUrl(model));
    renderScores(entry);
    renderKorean(model, entry);
    renderWeakest(model, entry);
    renderAgreement(entry);
    document.body.dataset.model = model;
    document.body.dataset.ready = "1";
  }

  function useCategory(name) {
    if (!page.show(name)) return;
    $("model-select").replaceChildren(...page.data.models.map((m) => el("option", { value: m, text: m })));
  }

  function showAsked() {
    const p = K.params();
    if (page.categories.length) useCategory(p.get("category"));
    const asked = p.get("model");
    const model = page.data.models.includes(asked) ? asked : page.data.models[0];
    if (model !== undefined) show(model);
  }

  $("model-select").replaceChildren(...page.data.models.map((m) => el("option", { value: m, text: m })));
  $("model-select").addEventListener("change", (e) => {
    K.setParams({ category: document.body.dataset.category, model: e.target.value }, true);
    show(e.target.value);
  });
  if (page.categories.length) {
    $("category-select").addEventListener("change", (e) => {
      useCategory(e.target.value);
      const keep = page.data.models.includes($("model-name").textContent) ? $("model-name").textContent : page.data.models[0];
      K.setParams({ category: e.target.value, model: keep }, true);
      if (keep !== undefined) show(keep);
    });
  }
  window.addEventListener("popstate", showAsked);
  showAsked();
})();
