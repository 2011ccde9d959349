// The frontend calls the API on the same origin under /api/: in deploys the edge proxy routes /api/ to the
// api service, under `stagecraft dev` the frontend's dev server (web/dev.py) forwards it to the API.
const statusBox = document.getElementById("status");
const list = document.getElementById("tasks");

async function api(path, options) {
  const response = await fetch(`/api${path}`, options);
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `${response.status}`);
  return body;
}

async function refresh() {
  try {
    const s = await api("/status");
    statusBox.className = "box ok";
    statusBox.textContent = `API ${s.version} on ${s.instance}: PostgreSQL ok (${s.database.tasks} tasks, ` +
      `${s.database.done} done), Redis ok (${s.redis.queued} queued)`;
    const { tasks } = await api("/tasks");
    list.replaceChildren(...tasks.map((t) => {
      const item = document.createElement("li");
      item.className = t.status;
      item.textContent = `#${t.id} ${t.title}: ${t.status}` + (t.result ? ` (${t.result}, by ${t.worker})` : "");
      return item;
    }));
  } catch (error) {
    statusBox.className = "box failed";
    statusBox.textContent = `API call failed: ${error.message}`;
  }
}

document.getElementById("new-task").addEventListener("submit", async (event) => {
  event.preventDefault();
  const input = document.getElementById("title");
  await api("/tasks", { method: "POST", headers: { "Content-Type": "application/json" },
                        body: JSON.stringify({ title: input.value }) });
  input.value = "";
  refresh();
});

refresh();
setInterval(refresh, 3000);
