// The main menu on a narrow screen: without this script the "Menu" link opens it (#site-menu:target);
// with it, the link acts as a button that folds and unfolds the menu and says whether it is open.
(function () {
  var toggle = document.querySelector(".menu-toggle");
  var menu = document.getElementById("site-menu");
  if (!toggle || !menu) return;
  toggle.setAttribute("role", "button");
  toggle.setAttribute("aria-expanded", "false");
  document.documentElement.classList.add("has-menu-script");
  toggle.addEventListener("click", function (event) {
    event.preventDefault();
    var open = menu.classList.toggle("is-open");
    toggle.setAttribute("aria-expanded", open ? "true" : "false");
  });
  toggle.addEventListener("keydown", function (event) {
    if (event.key === " ") { event.preventDefault(); toggle.click(); }
  });
})();
