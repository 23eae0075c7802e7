// The phone menu: the button folds the menu open and shut (CSS shows it always on wide screens).
document.addEventListener("DOMContentLoaded", () => {
  const button = document.querySelector(".menu-button");
  const header = document.querySelector(".topbar");
  if (!button || !header) return;
  button.addEventListener("click", () => {
    const open = header.classList.toggle("open");
    button.setAttribute("aria-expanded", open ? "true" : "false");
  });
});

// A box that scrolls sideways (a wide table on a phone) is reachable by keyboard: it takes
// the focus, and names itself after its table's heading, so arrow keys scroll it.
function markScrollBoxes() {
  document.querySelectorAll("table, .scroll-box").forEach((box) => {
    const style = getComputedStyle(box);
    const scrolls = /(auto|scroll)/.test(style.overflowX) && box.scrollWidth > box.clientWidth + 1;
    if (scrolls && !box.hasAttribute("tabindex")) {
      box.setAttribute("tabindex", "0");
      box.dataset.scrollBox = "1";
    } else if (!scrolls && box.dataset.scrollBox) {
      box.removeAttribute("tabindex");
      delete box.dataset.scrollBox;
    }
  });
}
document.addEventListener("DOMContentLoaded", markScrollBoxes);
window.addEventListener("resize", markScrollBoxes);

// The sign-off sheet's stock phrases (同意印发 …): a click puts the phrase into the opinion box.
document.addEventListener("DOMContentLoaded", () => {
  document.querySelectorAll("button[data-phrase]").forEach((button) => {
    button.addEventListener("click", () => {
      const box = document.getElementById(button.dataset.phraseTarget);
      if (!box) return;
      box.value = button.dataset.phrase;
      box.focus();
    });
  });
});
