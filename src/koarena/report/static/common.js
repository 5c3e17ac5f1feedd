/* Helpers shared by the pages. Untrusted text (model names, ids, labels) only ever goes into
   the page through textContent or attribute values; only the build's pre-sanitised HTML is
   assigned to innerHTML. */
(function () {
  "use strict";

  function el(tag, attrs, children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = String(v);
      else if (k === "className") node.className = v;
      else node.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children || []) {
      if (c === null || c === undefined) continue;
      node.appendChild(typeof c === "string" ? document.createTextNode(c) : c);
    }
    return node;
  }

  function svg(tag, attrs, text) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    for (const [k, v] of Object.entries(attrs || {})) node.setAttribute(k, String(v));
    if (text !== undefined) node.textContent = String(text);
    return node;
  }

  function params() {
    return new URLSearchParams(window.location.search);
  }

  /* Keep the view in the URL so that it can be shared. A file:// page may refuse
     history updates in some browsers; then the view still works, just without the URL. */
  function setParams(values, push) {
    const p = new URLSearchParams();
    for (const [k, v] of Object.entries(values)) {
      if (v !== null && v !== undefined && v !== "") p.set(k, v);
    }
    const query = p.toString();
    const url = window.location.pathname + (query ? "?" + query : "") + window.location.hash;
    try {
      if (push) window.history.pushState(null, "", url);
      else window.history.replaceState(null, "", url);
    } catch (err) {
      console.warn("cannot update the address bar:", err);
    }
    return url;
  }

  /* The page's inline data (#koarena-data). A bench with categories (Arena-Hard v2.0) has one
     set of data per category, each against its own baseline (the first is also the top level):
     `categories` lists them, empty for a bench without. */
  function pageData() {
    const all = JSON.parse(document.getElementById("koarena-data").textContent);
    return { all: all, categories: all.categories || [] };
  }

  /* The page whose inline data may hold one set per category (the model page, the analysis):
     `page.data` is the shown category's data (at first the top level: the first category's,
     or the only data), `page.categories` lists them (empty for a bench without), and
     `page.show(name)` shows the category called `name`, else the first: the data, the category
     switch, the baseline's name and the body's data-category. It returns that category
     (undefined for a bench without categories). */
  function categoryPage() {
    const { all, categories } = pageData();
    const page = { data: all, categories: categories };
    page.show = (name) => {
      const found = categories.find((c) => c.name === name) || categories[0];
      if (found) {
        page.data = found.data;
        document.getElementById("category-select").value = found.name;
        document.getElementById("baseline-name").textContent = found.data.baseline;
        document.body.dataset.category = found.name;
      }
      return found;
    };
    return page;
  }

  /* The answers page of `model`; `narrow` adds filters to the address (question, cluster),
     those without a value left out. */
  function browseUrl(model, narrow) {
    const p = new URLSearchParams({ model: model });
    for (const [k, v] of Object.entries(narrow || {})) if (v) p.set(k, v);
    return "browse.html?" + p.toString();
  }

  function fmt(x, digits) {
    return x === null || x === undefined ? "–" : Number(x).toFixed(digits);
  }

  /* Badges for data problems of a leaderboard row (failed calls, empty answers, dropped games). */
  /* The data problems of a leaderboard row: [its field, the badge's class, what the count
     means (on hover), the badge's label]. */
  const PROBLEMS = [
    ["failed_answers", "badge-failed", "answers are the literal $ERROR$ of a failed API call, judged as if they were answers", "failed"],
    ["empty_answers", "badge-empty", "answers are empty", "empty"],
    ["truncated_answers", "badge-truncated", "answers were cut off by the token limit (finish_reason length), judged as they are", "cut off"],
    ["filtered_answers", "badge-filtered", "answers were stopped by a content filter, judged as they are", "filtered"],
    ["dropped_games", "badge-dropped", "games had no valid verdict and were dropped", "dropped"],
  ];

  function problemBadges(row) {
    return PROBLEMS.filter(([key]) => row[key] > 0).map(([key, cls, title, label]) =>
      el("span", { className: "badge " + cls, title: row[key] + " " + title, text: row[key] + " " + label }));
  }

  function problemCount(row) {
    return PROBLEMS.reduce((n, [key]) => n + row[key], 0);
  }

  window.koarena = {
    el, svg, params, setParams, pageData, categoryPage, browseUrl, fmt, problemBadges, problemCount,
  };
})();
