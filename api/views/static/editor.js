// The SPARQL editor: YASGUI (bundled) on this server's endpoint, with the portfolio's example questions.
(function () {
  const examples = JSON.parse(document.getElementById("examples").textContent);
  Yasgui.Yasqe.defaults.autocompleters = Yasgui.Yasqe.defaults.autocompleters.filter(
    (name) => name !== "prefixes"); // that completer asks prefix.cc, outside this server
  const yasgui = new Yasgui(document.getElementById("yasgui"), {
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
  window.capacitiesEditor = yasgui;
})();
