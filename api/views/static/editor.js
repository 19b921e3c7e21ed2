// The SPARQL editor: YASGUI (bundled) on this server's endpoint, with the portfolio's example questions.
// Completions come from this server only (/sparql/completions.json: the predeclared prefixes, and the classes and
// properties of the ontology and the data, with their labels): YASQE's own completers ask prefix.cc and LOV.
// A query's error (problem+json: detail, line, column) is shown in words above the results and marked in the editor.
(function () {
  "use strict";
  const examples = JSON.parse(document.getElementById("examples").textContent);
  const problemBox = document.getElementById("query-error");
  const Yasqe = Yasgui.Yasqe;
  let yasgui = null;
  let marks = [];

  fetch("/sparql/completions.json", { headers: { Accept: "application/json" } })
    .then((response) => (response.ok ? response.json() : null))
    .catch(() => null)
    .then((terms) => start(terms || { prefixes: {}, classes: [], properties: [] }));

  function start(terms) {
    predeclare(terms.prefixes);
    listPrefixes(terms.prefixes);
    registerCompleters(terms);
    Yasgui.Yasr.defaults.errorRenderers = [renderProblem];
    Yasqe.defaults.lineWrapping = true; // long lines wrap: no sideways scrolling on a phone
    yasgui = new Yasgui(document.getElementById("yasgui"), {
      requestConfig: { endpoint: window.location.origin + "/sparql", method: "POST" },
      copyEndpointOnNewTab: false,
      persistenceId: null,
      endpointCatalogueOptions: { getData: () => [] },
    });
    const tab = () => yasgui.getTab();
    if (!tab().getQuery() || tab().getQuery().indexOf("PREFIX cap:") < 0) {
      tab().setQuery(examples[0].query);
    }
    document.getElementById("load-example").addEventListener("click", function () {
      const example = examples[Number(document.getElementById("example").value)];
      tab().setQuery(example.query);
      tab().query();
    });
    yasgui.on("queryBefore", clearProblem);
    accessible();
    new MutationObserver(accessible).observe(document.getElementById("yasgui"), { childList: true, subtree: true });
    window.capacitiesEditor = yasgui;
    window.capacitiesTerms = terms;
  }

  // YASGUI's controls as a screen reader needs them (WCAG 1.3.1, 4.1.2): the query box and the endpoint box
  // named, its scrolling box reachable, and its tab list holding tabs only (YASGUI puts its "add a tab" button inside it)
  function accessible() {
    const root = document.getElementById("yasgui");
    root.querySelectorAll("textarea:not([aria-label])").forEach((box) => box.setAttribute("aria-label", "SPARQL query"));
    root
      .querySelectorAll("input.autocomplete:not([aria-label])")
      .forEach((box) => box.setAttribute("aria-label", "SPARQL endpoint"));
    // the query's scrolling box can be reached by Tab and scrolled with the arrow keys (WCAG 2.1.1)
    root.querySelectorAll(".CodeMirror-scroll:not([role=region])").forEach((box) => {
      box.setAttribute("tabindex", "0");
      box.setAttribute("role", "region");
      box.setAttribute("aria-label", "SPARQL query (scrolls)");
    });
    root.querySelectorAll("[role=tablist] > * > button.addTab").forEach((button) => {
      button.parentElement.parentElement.after(button.parentElement);
    });
  }

  // YASQE's syntax check flags a prefix the query does not declare: the endpoint declares these.
  function predeclare(prefixes) {
    const original = Yasqe.modes && Yasqe.modes.sparql11;
    if (!original) return;
    Yasqe.defineMode("sparql11", function (config, options) {
      const mode = original(config, options);
      const startState = mode.startState;
      mode.startState = function () {
        const state = startState.apply(this, arguments);
        state.prefixes = Object.assign({}, prefixes, state.prefixes);
        return state;
      };
      return mode;
    });
  }

  function listPrefixes(prefixes) {
    const list = document.getElementById("prefix-list");
    Object.keys(prefixes).forEach(function (name) {
      const item = document.createElement("li");
      const code = document.createElement("code");
      code.textContent = name + ": <" + prefixes[name] + ">";
      item.appendChild(code);
      list.appendChild(item);
    });
  }

  function registerCompleters(terms) {
    const labels = {};
    terms.classes.concat(terms.properties).forEach((term) => {
      if (term.label) labels[term.name] = term.label;
    });
    const withLabels = (yasqe, hints) =>
      hints.map((hint) =>
        Object.assign({}, hint, { displayText: labels[hint.text] ? hint.text + "  (" + labels[hint.text] + ")" : hint.text })
      );
    const named = (list) => list.map((term) => term.name).filter((name) => name[0] !== "<");
    const previous = (yasqe, token) => yasqe.getPreviousNonWsToken(yasqe.getDoc().getCursor().line, token);
    const notVariable = (token) => token.string[0] !== "?" && token.string[0] !== "$";
    const noStorage = () => undefined; // the lists come with the page: nothing is kept in localStorage
    Yasqe.defaults.autocompleters = ["variables"]; // the bundled prefixes, class and property completers go
    Yasqe.registerAutocompleter({
      name: "localPrefixes",
      bulk: true,
      autoShow: true,
      persistenceId: noStorage,
      get: Object.keys(terms.prefixes).map((name) => name + ": <" + terms.prefixes[name] + ">"),
      isValidCompletionPosition: Yasqe.Autocompleters.prefixes.isValidCompletionPosition,
      preProcessToken: Yasqe.Autocompleters.prefixes.preProcessToken,
    });
    Yasqe.registerAutocompleter({
      name: "localClasses",
      bulk: true,
      autoShow: true,
      persistenceId: noStorage,
      get: named(terms.classes),
      postprocessHints: withLabels,
      isValidCompletionPosition: function (yasqe) {
        const token = yasqe.getCompleteToken();
        if (!notVariable(token)) return false;
        const last = previous(yasqe, token).state.lastProperty;
        return last === "a" || last === "rdf:type" || last === "rdfs:domain" || last === "rdfs:range";
      },
    });
    Yasqe.registerAutocompleter({
      name: "localProperties",
      bulk: true,
      autoShow: true,
      persistenceId: noStorage,
      get: named(terms.properties),
      postprocessHints: withLabels,
      isValidCompletionPosition: function (yasqe) {
        const token = yasqe.getCompleteToken();
        return token.string.length > 0 && notVariable(token) && token.state.possibleCurrent.indexOf("a") >= 0;
      },
    });
  }

  function clearProblem() {
    marks.forEach((clear) => clear());
    marks = [];
    problemBox.hidden = true;
    problemBox.textContent = "";
  }

  function problemOf(error) {
    const text = (error && (error.text || error.message || error.statusText)) || String(error);
    try {
      const body = JSON.parse(text);
      if (body && typeof body === "object" && body.detail) return body;
    } catch (ignored) {
      // not a problem document: the text as it came
    }
    return { title: "The query failed", detail: text };
  }

  function paragraph(text, className) {
    const p = document.createElement("p");
    if (className) p.className = className;
    p.textContent = text;
    return p;
  }

  // Yasr's error renderer: the problem in words, its line and column, and the position marked in the editor.
  function renderProblem(error) {
    const problem = problemOf(error);
    const box = document.createElement("div");
    box.className = "query-problem-result";
    box.appendChild(paragraph((problem.title || "Error") + (problem.status ? " (" + problem.status + ")" : ""), "title"));
    box.appendChild(paragraph(problem.detail, "detail"));
    clearProblem();
    problemBox.appendChild(paragraph(problem.title || "Error", "title"));
    problemBox.appendChild(paragraph(problem.detail, "detail"));
    if (problem.line) {
      const where = "Line " + problem.line + ", column " + problem.column;
      box.appendChild(paragraph(where, "where"));
      problemBox.appendChild(paragraph(where, "where"));
      mark(problem.line - 1, (problem.column || 1) - 1);
    }
    problemBox.hidden = false;
    return Promise.resolve(box);
  }

  function mark(line, ch) {
    const yasqe = yasgui && yasgui.getTab() && yasgui.getTab().getYasqe();
    if (!yasqe || line < 0 || line >= yasqe.getDoc().lineCount()) return;
    const handle = yasqe.addLineClass(line, "wrap", "query-error-line");
    const length = yasqe.getDoc().getLine(line).length;
    const from = { line: line, ch: Math.min(ch, Math.max(0, length - 1)) };
    const marker = yasqe.getDoc().markText(from, { line: line, ch: from.ch + 1 }, { className: "query-error-mark" });
    yasqe.getDoc().setCursor({ line: line, ch: ch });
    yasqe.scrollIntoView({ line: line, ch: ch });
    marks.push(() => yasqe.removeLineClass(handle, "wrap", "query-error-line"), () => marker.clear());
  }
})();
