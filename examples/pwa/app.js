// The task list: data in minibase on IndexedDB, the app shell and the engine
// cached by the service worker (sw.js), so it works offline after the first visit.
import { connect, isOwner } from './minibase/browser.mjs';

const $ = (id) => document.getElementById(id);

if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register('./sw.js').catch((err) => console.error('service worker:', err));
}

const conn = await connect({ adapter: 'indexeddb', name: 'tasks' });
await conn.createDatabase('app', { ifNotExists: true });
await conn.useDatabase('app');
await conn.createTable('tasks', {
  ifNotExists: true,
  columns: [
    { name: 'id', type: 'number', primaryKey: true, autoIncrement: true },
    { name: 'title', type: 'string', notNull: true },
    { name: 'done', type: 'boolean', default: false },
    { name: 'created', type: 'number' },
  ],
  indexes: [{ columns: ['done'] }],
});
const tasks = conn.table('tasks');

function status() {
  const net = navigator.onLine ? 'online' : 'offline';
  const role = isOwner('tasks') ? 'this tab owns the database' : 'another tab owns the database';
  $('status').textContent = `${net} · ${role}`;
}

// The list follows the data: a live query calls draw with the rows after
// every commit that changed them, from this tab, another tab or the
// service worker; writes below never re-query by hand.
function draw(rows) {
  const list = $('tasks');
  list.replaceChildren(
    ...rows.map((t) => {
      const li = document.createElement('li');
      li.className = t.done ? 'done' : '';
      li.dataset.id = t.id;
      const box = document.createElement('input');
      box.type = 'checkbox';
      box.checked = t.done;
      box.onchange = async () => {
        await tasks.update({ done: box.checked }, { where: { id: t.id } });
      };
      const title = document.createElement('span');
      title.textContent = t.title;
      const del = document.createElement('button');
      del.textContent = '✕';
      del.title = 'delete';
      del.onclick = async () => {
        await tasks.delete({ where: { id: t.id } });
      };
      li.append(box, title, del);
      return li;
    }),
  );
  document.body.dataset.count = String(rows.length);
  document.body.dataset.ready = 'true';
  status();
}

$('add').onsubmit = async (e) => {
  e.preventDefault();
  const title = $('title').value.trim();
  if (!title) return;
  await tasks.insert({ title, created: Date.now() }); // resolves once it is in IndexedDB
  $('title').value = '';
};
addEventListener('online', status);
addEventListener('offline', status);

tasks.watch({ orderBy: [{ name: 'id', type: 'asc' }] }, draw);
