// The dashboard's one script: it follows /ui/events and puts each
// "cluster" event, the page's #cluster part rendered anew by flotad, in
// place; the unit filter is applied again after each.
(() => {
  const live = document.getElementById('live');
  const filter = document.getElementById('filter');
  const cluster = document.getElementById('cluster');
  const say = (state) => { live.textContent = state; live.dataset.state = state; };
  const apply = () => {
    const q = filter.value.trim();
    for (const tr of cluster.querySelectorAll('#units tbody tr[data-unit]')) {
      tr.hidden = q !== '' && !tr.dataset.unit.includes(q);
    }
  };
  filter.addEventListener('input', apply);
  const events = new EventSource('events');
  events.onopen = () => say('live');
  events.onerror = () => say('reconnecting');
  events.addEventListener('cluster', (e) => {
    cluster.innerHTML = e.data;
    document.body.dataset.revision = e.lastEventId;
    apply();
  });
})();
