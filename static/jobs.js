// A long job's page (templates/work/show.html): its <progress> follows the job's JSON status
// every second; when the job ends the page reloads to show the result (download, report).
document.addEventListener("DOMContentLoaded", () => {
  const card = document.querySelector("[data-status-url]");
  if (!card || !["queued", "running"].includes(card.dataset.state)) return;
  const bar = card.querySelector("progress");
  const count = card.querySelector("[data-job-count]");
  const state = card.querySelector("[data-job-state]");
  const tick = async () => {
    try {
      const response = await fetch(card.dataset.statusUrl, { credentials: "same-origin", cache: "no-store" });
      if (!response.ok) throw new Error(String(response.status));
      const job = await response.json();
      if (job.finished) { window.location.reload(); return; }
      state.textContent = job.state_label;
      if (job.total && bar) {
        bar.max = job.total;
        bar.value = job.progress;
        bar.textContent = `${job.progress} / ${job.total}`;
        if (count) count.textContent = job.count_label;
      }
    } catch (error) { /* the next tick tries again */ }
    setTimeout(tick, 1000);
  };
  setTimeout(tick, 1000);
});
