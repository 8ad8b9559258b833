// "Verify now": follow the verification job's progress over Server-Sent Events.
const box = document.getElementById("verify");
const bar = document.getElementById("verify-progress");
const status = document.getElementById("verify-status");
const job = box?.dataset.job;
if (job) {
  const source = new EventSource(`/web/audit/jobs/${encodeURIComponent(job)}/events`);
  const show = (j) => {
    if (j.total) { bar.max = j.total; bar.value = j.done; }
    status.textContent = j.finished
      ? (j.ok ? `Verified: ${j.detail}.` : `FAILED: ${j.detail}.`)
      : `Running (${j.done} of ${j.total})…`;
    box.dataset.state = j.finished ? (j.ok ? "ok" : "failed") : "running";
  };
  source.addEventListener("progress", (e) => show(JSON.parse(e.data)));
  source.addEventListener("result", (e) => { show(JSON.parse(e.data)); source.close(); });
  source.onerror = () => { source.close(); };
}
