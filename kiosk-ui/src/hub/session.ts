// Console session state. The hub sets an HttpOnly cookie at login; the page only remembers who it is.

import { ref } from 'vue'
import { hubApi, onHubUnauthorized, type HubUser } from './api'

export const hubUser = ref<HubUser | null>(null)
let checked = false

/** Resolves whether a console session exists, asking the hub once after a reload. */
export async function ensureHubSession(): Promise<boolean> {
  if (hubUser.value) return true
  if (checked) return false
  checked = true
  try {
    const r = await hubApi.status()
    hubUser.value = r.authenticated && r.user ? r.user : null
    return !!hubUser.value
  } catch {
    return false
  }
}

export async function hubLogin(username: string, password: string): Promise<HubUser> {
  const r = await hubApi.login(username, password)
  hubUser.value = r.user
  checked = true
  return r.user
}

export async function hubLogout(): Promise<void> {
  try {
    await hubApi.logout()
  } catch {
    // The session may already be gone; the local state is cleared regardless.
  }
  hubUser.value = null
  checked = true
}

/** The console's start page for a user: the pending list for a clerk, station health for the administrator. */
export function homeOf(u: HubUser | null): string {
  return u?.role === 'admin' ? '/hub/admin' : '/hub/pending'
}

/** Installs the 401 handler: any console call that gets 401 returns to the console's login page. */
export function installHubUnauthorizedRedirect(go: (next: string) => void): void {
  onHubUnauthorized(() => {
    hubUser.value = null
    checked = true
    go(window.location.pathname + window.location.search)
  })
}
