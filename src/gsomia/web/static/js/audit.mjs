// "Verify now": follow the verification job's progress over Server-Sent Events.
const box = document.getElementById("verify");
const bar = document.getElementById("verify-progress");
const status = document.getElementById("verify-status");
const list = document.getElementById("verify-partners");
const job = box?.dataset.job;
const partners = (found) => {
  list.replaceChildren(...found.map((p) => {
    const item = document.createElement("li");
    item.dataset.partner = p.party;
    item.textContent = `${p.party} (${p.origin}): ${p.receipts} receipt${p.receipts === 1 ? "" : "s"} up to ${p.size} entries, `
      + (p.consistent ? "consistent" : `INCONSISTENT: ${p.problem}`);
    return item;
  }));
};
if (job && box.dataset.state !== "ok" && box.dataset.state !== "failed") {
  const source = new EventSource(`/web/audit/jobs/${encodeURIComponent(job)}/events`);
  const show = (j) => {
    if (j.total) { bar.max = j.total; bar.value = j.done; }
    status.textContent = j.finished
      ? (j.ok ? `Verified: ${j.detail}.` : `FAILED: ${j.detail}.`)
      : `Running (${j.done} of ${j.total})…`;
    if (j.finished) partners(j.partners || []);
    box.dataset.state = j.finished ? (j.ok ? "ok" : "failed") : "running";
  };
  source.addEventListener("progress", (e) => show(JSON.parse(e.data)));
  source.addEventListener("result", (e) => { show(JSON.parse(e.data)); source.close(); });
  source.onerror = () => { source.close(); };
}
