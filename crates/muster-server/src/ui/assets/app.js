// Live regions: an element with data-live="WATCH" is refreshed from the server when the server says
// what it shows has changed (server-sent events), without reloading the page or losing a draft.
(function () {
  const regions = document.querySelectorAll("[data-live]");
  if (!regions.length || !window.EventSource) return;
  const watch = regions[0].getAttribute("data-live");
  const source = new EventSource("/ui/events?watch=" + encodeURIComponent(watch));
  source.addEventListener("changed", async () => {
    const res = await fetch(location.href, { headers: { "X-Muster-Fragment": "1" } });
    if (!res.ok) return;
    const doc = new DOMParser().parseFromString(await res.text(), "text/html");
    for (const region of document.querySelectorAll("[data-live]")) {
      const fresh = doc.getElementById(region.id);
      if (fresh && fresh.innerHTML !== region.innerHTML) region.innerHTML = fresh.innerHTML;
    }
  });
})();
// Copy buttons (integration keys).
document.addEventListener("click", (e) => {
  const b = e.target.closest("[data-copy]");
  if (!b) return;
  navigator.clipboard && navigator.clipboard.writeText(b.getAttribute("data-copy"));
  b.textContent = "Copied";
});
