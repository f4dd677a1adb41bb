import { useEffect, useState } from "preact/hooks";
import { api, type Page } from "../api";
import type { User } from "../auth";
import { Field } from "../components/Field";
import { Empty, ErrorMessage, Loading } from "../components/Status";

export function AdminUsers({ self }: { self: User }) {
  const [query, setQuery] = useState("");
  const [role, setRole] = useState("");
  const [search, setSearch] = useState({ q: "", role: "" });
  const [users, setUsers] = useState<Page<User> | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [notice, setNotice] = useState("");
  const [reload, setReload] = useState(0);

  useEffect(() => {
    let current = true;
    setError(null);
    api.get<Page<User>>("/admin/users", { q: search.q, role: search.role, per_page: 100 }).then(
      (page) => current && setUsers(page),
      (caught: unknown) => current && setError(caught),
    );
    return () => {
      current = false;
    };
  }, [search, reload]);

  async function change(user: User, changes: Partial<User>, text: string): Promise<void> {
    setError(null);
    try {
      await api.patch(`/admin/users/${user.id}`, changes);
      setNotice(text);
      setReload((n) => n + 1);
    } catch (caught) {
      setError(caught);
    }
  }

  return (
    <section aria-labelledby="users-title">
      <h1 id="users-title">Users</h1>
      <form
        class="row"
        role="search"
        onSubmit={(e) => {
          e.preventDefault();
          setSearch({ q: query.trim(), role });
        }}
      >
        <Field label="Name or e-mail">
          <input type="search" value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
        </Field>
        <Field label="Role">
          <select value={role} onChange={(e) => setRole(e.currentTarget.value)}>
            <option value="">Any</option>
            <option value="admin">Admin</option>
            <option value="employee">Employee</option>
          </select>
        </Field>
        <button type="submit">Search</button>
      </form>
      <p role="status" class="notice">
        {notice}
      </p>
      <ErrorMessage error={error} />
      {!users && !error && <Loading what="Loading users" />}
      {users?.items.length === 0 && <Empty>No user matches.</Empty>}
      {users && users.items.length > 0 && (
        <div class="table-scroll">
          <table class="list">
            <caption class="visually-hidden">Users ({users.total})</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">E-mail</th>
                <th scope="col">Role</th>
                <th scope="col">Status</th>
              </tr>
            </thead>
            <tbody>
              {users.items.map((user) => (
                <tr key={user.id}>
                  <th scope="row">{user.name || "—"}</th>
                  <td>{user.email}</td>
                  <td>
                    <select
                      aria-label={`Role of ${user.email}`}
                      value={user.role}
                      disabled={user.id === self.id}
                      onChange={(e) => {
                        const next = e.currentTarget.value as User["role"];
                        void change(
                          user,
                          { role: next },
                          `${user.email} is now ${next === "admin" ? "an admin" : "an employee"}.`,
                        );
                      }}
                    >
                      <option value="employee">Employee</option>
                      <option value="admin">Admin</option>
                    </select>
                  </td>
                  <td>
                    <button
                      type="button"
                      disabled={user.id === self.id}
                      onClick={() =>
                        void change(
                          user,
                          { is_active: !user.is_active },
                          `${user.email} is ${user.is_active ? "deactivated" : "active again"}.`,
                        )
                      }
                    >
                      {user.is_active ? `Deactivate ${user.email}` : `Reactivate ${user.email}`}
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
