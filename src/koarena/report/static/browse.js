/* The judgment browser. Its data arrives as <script> shards that call koarenaShard(key, data):
   that works from file:// as well as over HTTP, where fetch() of local files would not.
   data/index.js has the questions and every verdict; a view then loads the question
   (data/q/<q>.js), the baseline's and the model's answers (data/a/<m>/<q>.js) and, only when the
   reader opens them, the judges' explanations and reasoning (data/j/<judge>/<m>/<q>.js).
   Answer and explanation HTML was sanitised at build time. */
(function () {
  "use strict";
  const K = window.koarena;
  const el = K.el;
  const waiting = {};
  const loaded = {};

  window.koarenaShard = function (key, data) {
    loaded[key] = data;
    if (waiting[key]) { waiting[key].resolve(data); delete waiting[key]; }
  };

  /* A shard's key is its path under data/. */
  function loadShard(src) {
    const key = src;
    if (loaded[key]) return Promise.resolve(loaded[key]);
    if (waiting[key]) return waiting[key].promise;
    const entry = {};
    entry.promise = new Promise((resolve, reject) => { entry.resolve = resolve; entry.reject = reject; });
    waiting[key] = entry;
    const s = document.createElement("script");
    s.src = "data/" + src;
    s.onerror = () => { delete waiting[key]; entry.reject(new Error("cannot load data/" + src)); };
    document.head.appendChild(s);
    return entry.promise;
  }

  /* Game codes of data/index.js: one letter per game label, "-" no valid label, "." no judgment. */
  const LABELS = { a: "A>>B", b: "A>B", c: "A=B", d: "B>A", e: "B>>A" };
  function modelPoints(code, game, weight) {
    const pts = { a: -weight, b: -1, c: 0, d: 1, e: weight }[code];
    if (pts === undefined) return null;
    return game === 0 ? pts : -pts; // game 2 shows the baseline as B: its labels read mirrored
  }

  function outcome(codes, weight) {
    const g1 = modelPoints(codes[0], 0, weight);
    const g2 = modelPoints(codes[1], 1, weight);
    if (g1 === null && g2 === null) return "none";
    const net = (g1 || 0) + (g2 || 0);
    return net > 0 ? "win" : net < 0 ? "loss" : "tie";
  }

  function split(codes, weight) {
    const g1 = modelPoints(codes[0], 0, weight);
    const g2 = modelPoints(codes[1], 1, weight);
    return g1 !== null && g2 !== null && Math.sign(g1) !== Math.sign(g2);
  }

  let index = null;
  const state = { question: "", model: "", judge: "", cluster: "", category: "", verdict: "", q: "" };
  const $ = (id) => document.getElementById(id);

  function readUrl() {
    const p = K.params();
    state.model = index.models.includes(p.get("model")) ? p.get("model") : index.models[0];
    state.judge = index.judges.includes(p.get("judge")) ? p.get("judge") : index.judges[0];
    state.cluster = p.get("cluster") || "";
    state.category = p.get("category") || "";
    state.verdict = p.get("verdict") || "";
    state.q = p.get("q") || "";
    state.question = p.get("question") || "";
  }

  function writeUrl(push) {
    return K.setParams({
      question: state.question, model: state.model,
      judge: state.judge === index.judges[0] ? "" : state.judge,
      cluster: state.cluster, category: state.category, verdict: state.verdict, q: state.q,
    }, push);
  }

  function matches(i) {
    const q = index.questions[i];
    if (state.cluster && q.topic !== state.cluster) return false;
    if (state.category && q.category !== state.category) return false;
    if (state.q) {
      const needle = state.q.toLowerCase();
      if (!q.id.toLowerCase().includes(needle) && !q.text.toLowerCase().includes(needle)) return false;
    }
    if (state.verdict) {
      const all = index.verdicts[state.judge][state.model] || "";
      const codes = all.substr(2 * i, 2);
      if (state.verdict === "split") return split(codes, index.weight);
      return outcome(codes, index.weight) === state.verdict;
    }
    return true;
  }

  function filtered() {
    const out = [];
    for (let i = 0; i < index.questions.length; i++) if (matches(i)) out.push(i);
    return out;
  }

  function currentIndex() {
    return index.questions.findIndex((q) => q.id === state.question);
  }

  function renderList(list) {
    const cur = currentIndex();
    const ol = $("question-list");
    const frag = document.createDocumentFragment();
    const all = index.verdicts[state.judge][state.model] || "";
    for (const i of list) {
      const q = index.questions[i];
      const res = outcome(all.substr(2 * i, 2), index.weight);
      const a = el("a", { href: "?" + new URLSearchParams({ question: q.id, model: state.model }).toString(),
        "data-question": q.id, "aria-current": i === cur ? "true" : null }, [
        el("span", { className: "verdict-dot v-" + res, title: res }),
        el("code", { text: q.id.slice(0, 8) }),
        " ",
        el("span", { className: "snippet", text: q.text.slice(0, 80) }),
      ]);
      a.addEventListener("click", (e) => { e.preventDefault(); go(q.id, true); });
      frag.appendChild(el("li", {}, [a]));
    }
    ol.replaceChildren(frag);
    const tally = { win: 0, tie: 0, loss: 0, none: 0 };
    for (const i of list) tally[outcome(all.substr(2 * i, 2), index.weight)] += 1;
    $("tally").textContent = "model better " + tally.win + " · tie " + tally.tie +
      " · baseline better " + tally.loss + (tally.none ? " · no verdict " + tally.none : "");
    const pos = list.indexOf(cur);
    $("position").textContent = list.length === 0 ? "no match"
      : (pos >= 0 ? pos + 1 : "–") + " / " + list.length;
    $("prev").disabled = list.length === 0 || pos === 0;
    $("next").disabled = list.length === 0 || pos === list.length - 1;
    const active = ol.querySelector("[aria-current]");
    if (active) active.scrollIntoView({ block: "nearest" });
  }

  const WORDS = {
    "A>>B": "A is much better", "A>B": "A is better", "A=B": "tie",
    "B>A": "B is better", "B>>A": "B is much better",
  };

  function who(score, game) {
    if (!score || !(score in WORDS)) return "no valid verdict";
    if (score === "A=B") return "tie";
    const aWins = score[0] === "A";
    const baselineWins = game === 0 ? aWins : !aWins;
    const strong = score.includes(">>");
    return (baselineWins ? "baseline" : "model") + (strong ? " much better" : " better");
  }

  function problemsOf(judge, q) {
    return ((index.problems[judge] || {})[state.model] || {})[q.id] || ["", ""];
  }

  function hasText(judge, i) {
    const flags = (index.explained[judge] || {})[state.model] || "";
    return flags[i] === "1";
  }

  /* The judge's explanation and reasoning of both games: one shard, loaded when the reader
     first opens either game's text; collapsed by default, since they are long. */
  function textShard(judge, q) {
    return "j/" + index.judge_keys[judge] + "/" + index.model_keys[state.model] + "/" + q.key + ".js";
  }

  function fillText(body, src, gi) {
    if (body.dataset.loaded) return;
    body.dataset.loaded = "1";
    body.replaceChildren(el("p", { className: "muted", text: "Loading…" }));
    loadShard(src).then((data) => {
      const g = data.games[gi] || { html: "", reasoning: [] };
      const parts = [];
      if (g.html) {
        const md = el("div", { className: "md explanation" });
        md.innerHTML = g.html; // sanitised at build time
        parts.push(md);
      } else {
        parts.push(el("p", { className: "muted", text: "no written explanation" }));
      }
      if (g.reasoning.length) {
        const inner = el("div", { className: "reasoning-body" });
        g.reasoning.forEach((h, ri) => {
          if (g.reasoning.length > 1) inner.appendChild(el("h4", { text: "Reply " + (ri + 1) }));
          const md = el("div", { className: "md reasoning" });
          md.innerHTML = h; // sanitised at build time
          inner.appendChild(md);
        });
        parts.push(el("details", { className: "judge-reasoning" }, [
          el("summary", { text: "Judge's reasoning (" + g.reasoning.length + ")" }), inner]));
      }
      body.replaceChildren(...parts);
    }, (err) => { body.replaceChildren(el("p", { className: "problem", text: String(err.message || err) })); });
  }

  function renderVerdicts(q, i) {
    const box = $("verdicts");
    const parts = [el("h2", { text: "Verdicts" })];
    for (const judge of index.judges) {
      const codes = (index.verdicts[judge][state.model] || "").substr(2 * i, 2);
      const section = el("section", { className: "judge", "data-judge": judge }, [el("h3", { text: judge })]);
      if (!codes || codes === "..") {
        section.appendChild(el("p", { className: "muted", text: "no judgment of this answer" }));
      } else {
        const row = el("div", { className: "games" });
        const problems = problemsOf(judge, q);
        const text = hasText(judge, i) ? textShard(judge, q) : null;
        for (let gi = 0; gi < 2; gi++) {
          const score = LABELS[codes[gi]] || null;
          const roles = gi === 0 ? "A = baseline, B = model" : "A = model, B = baseline";
          const card = el("div", { className: "game", "data-game": gi + 1 }, [
            el("div", { className: "game-head" }, [
              el("span", { className: "game-name", text: "Game " + (gi + 1) }),
              el("span", { className: "muted", text: roles }),
            ]),
            el("div", { className: "game-verdict" }, [
              el("code", { className: "label", text: score || "—" }),
              " ",
              el("span", { className: "who", text: who(score, gi) }),
            ]),
          ]);
          if (problems[gi]) card.appendChild(el("p", { className: "problem", text: problems[gi] }));
          if (text) {
            const body = el("div", { className: "judge-text" });
            const details = el("details", { className: "explanation-box" }, [
              el("summary", { text: "Judge's explanation" }), body]);
            details.addEventListener("toggle", () => { if (details.open) fillText(body, text, gi); });
            card.appendChild(details);
          }
          row.appendChild(card);
        }
        section.appendChild(row);
      }
      parts.push(section);
    }
    box.replaceChildren(...parts);
  }

  function renderAnswer(box, role, model, answer) {
    const head = el("header", {}, [
      el("h2", {}, [el("span", { className: "role", text: role }), " ", el("span", { className: "name", text: model })]),
    ]);
    const parts = [head];
    if (!answer) {
      parts.push(el("p", { className: "muted", text: "no answer" }));
    } else {
      const meta = el("p", { className: "meta" });
      if (answer.tokens !== null) meta.appendChild(el("span", { className: "muted", text: answer.tokens + " tokens" }));
      if (answer.failed) meta.appendChild(el("span", { className: "badge badge-failed", text: "failed API call ($ERROR$)" }));
      if (answer.empty) meta.appendChild(el("span", { className: "badge badge-empty", text: "empty answer" }));
      parts.push(meta);
      answer.html.forEach((h, ti) => {
        if (answer.html.length > 1) parts.push(el("h3", { className: "turn", text: "Turn " + (ti + 1) }));
        const body = el("div", { className: "md" });
        body.innerHTML = h; // sanitised at build time
        parts.push(body);
      });
    }
    box.replaceChildren(...parts);
  }

  let token = 0;
  async function show() {
    const list = filtered();
    if (currentIndex() < 0) state.question = list.length ? index.questions[list[0]].id : index.questions[0].id;
    const i = currentIndex();
    const q = index.questions[i];
    const url = writeUrl(false);
    $("share-link").setAttribute("href", url);
    renderList(list);
    const mine = ++token;
    $("status").textContent = "Loading " + q.id + "…";
    $("status").hidden = false;
    const baseline = q.baseline || index.baseline; // on a bench with categories, its own
    const answerShard = (m) => "a/" + index.model_keys[m] + "/" + q.key + ".js";
    const missing = () => null; // a model without an answer to this question has no shard
    let shard, baseAnswer, modelAnswer;
    try {
      [shard, baseAnswer, modelAnswer] = await Promise.all([
        loadShard("q/" + q.key + ".js"),
        loadShard(answerShard(baseline)).catch(missing),
        loadShard(answerShard(state.model)).catch(missing),
      ]);
    } catch (err) {
      $("status").textContent = String(err.message || err);
      return;
    }
    if (mine !== token) return;
    $("question-id").textContent = q.id;
    $("question-cluster").textContent = q.topic;
    $("question-cluster-en").textContent = q.topic === q.cluster ? "" : q.cluster;
    const qt = $("question-text");
    qt.replaceChildren();
    shard.turns.forEach((h, ti) => {
      if (shard.turns.length > 1) qt.appendChild(el("h3", { className: "turn", text: "Turn " + (ti + 1) }));
      const body = el("div", { className: "md" });
      body.innerHTML = h; // sanitised at build time
      qt.appendChild(body);
    });
    renderVerdicts(q, i);
    renderAnswer($("answer-baseline"), "Baseline", baseline, baseAnswer);
    renderAnswer($("answer-model"), "Model", state.model, modelAnswer);
    $("status").hidden = true;
    $("question").hidden = false;
    document.body.dataset.ready = "1";
    document.body.dataset.question = q.id;
    document.body.dataset.model = state.model;
  }

  function go(questionId, push) {
    state.question = questionId;
    writeUrl(push);
    show();
  }

  function step(delta) {
    const list = filtered();
    if (!list.length) return;
    const pos = list.indexOf(currentIndex());
    const next = pos < 0 ? 0 : Math.min(list.length - 1, Math.max(0, pos + delta));
    go(index.questions[list[next]].id, true);
  }

  function setupControls() {
    $("model-select").replaceChildren(...index.models.map((m) => el("option", { value: m, text: m })));
    const clusters = [...new Set(index.questions.map((q) => q.topic).filter(Boolean))].sort();
    $("cluster-select").append(...clusters.map((c) => el("option", { value: c, text: c })));
    // Arena-Hard v2.0 benches: each category has its own baseline, so filter by it
    const categories = [...new Set(index.questions.map((q) => q.category).filter(Boolean))];
    $("category-filter").hidden = categories.length < 2;
    $("category-select").append(...categories.map((c) => el("option", { value: c, text: c })));
    $("judge-select").replaceChildren(...index.judges.map((j) => el("option", { value: j, text: j })));
    $("judge-filter").hidden = index.judges.length < 2;
    syncControls();
    $("model-select").addEventListener("change", (e) => { state.model = e.target.value; writeUrl(true); show(); });
    $("judge-select").addEventListener("change", (e) => { state.judge = e.target.value; writeUrl(true); show(); });
    $("cluster-select").addEventListener("change", (e) => { state.cluster = e.target.value; afterFilter(); });
    $("category-select").addEventListener("change", (e) => { state.category = e.target.value; afterFilter(); });
    $("verdict-select").addEventListener("change", (e) => { state.verdict = e.target.value; afterFilter(); });
    $("search").addEventListener("input", (e) => { state.q = e.target.value.trim(); afterFilter(); });
    $("filters").addEventListener("submit", (e) => e.preventDefault());
    $("prev").addEventListener("click", () => step(-1));
    $("next").addEventListener("click", () => step(1));
    document.addEventListener("keydown", (e) => {
      if (e.target.closest && e.target.closest("input, select, textarea")) return;
      if (e.key === "ArrowLeft") step(-1);
      else if (e.key === "ArrowRight") step(1);
    });
    window.addEventListener("popstate", () => { readUrl(); syncControls(); show(); });
  }

  /* After a filter change the current question stays if it still matches, else the first match. */
  function afterFilter() {
    const list = filtered();
    if (list.length && !list.includes(currentIndex())) state.question = index.questions[list[0]].id;
    writeUrl(false);
    show();
  }

  function syncControls() {
    $("model-select").value = state.model;
    $("judge-select").value = state.judge;
    $("cluster-select").value = state.cluster;
    $("category-select").value = state.category;
    $("verdict-select").value = state.verdict;
    $("search").value = state.q;
  }

  loadShard("index.js").then((data) => {
    index = data;
    readUrl();
    setupControls();
    show();
  }, (err) => { $("status").textContent = String(err.message || err); });
})();
