import { createRouter, createWebHistory, type RouteRecordRaw } from 'vue-router'
import { ensureSession, installUnauthorizedRedirect } from './counter/session'
import { watch } from 'vue'
import { loadStaffLocale, locale, resetKioskLocale, t, type MessageKey } from './lib/i18n'
import { ensureHubSession, homeOf, hubUser, installHubUnauthorizedRedirect } from './hub/session'

const routes: RouteRecordRaw[] = [
  { path: '/', redirect: '/kiosk' },
  {
    path: '/kiosk',
    component: () => import('./kiosk/KioskLayout.vue'),
    children: [
      { path: '', name: 'kiosk-home', component: () => import('./kiosk/KioskHome.vue'), meta: { title: 'kiosk.home' } },
      { path: 'guide', name: 'kiosk-guide', component: () => import('./kiosk/GuideView.vue'), meta: { title: 'guide.title' } },
      {
        path: 'guide/:code',
        name: 'kiosk-matter',
        component: () => import('./kiosk/MatterView.vue'),
        props: true,
        meta: { title: 'page.matter' },
      },
      { path: 'progress', name: 'kiosk-progress', component: () => import('./kiosk/ProgressView.vue'), meta: { title: 'kiosk.tile.progress' } },
      { path: 'queue', name: 'kiosk-queue', component: () => import('./kiosk/QueueView.vue'), meta: { title: 'queue.title' } },
      { path: 'mine', name: 'kiosk-mine', component: () => import('./kiosk/MyAppsView.vue'), meta: { title: 'mine.title' } },
      { path: 'certificates', name: 'kiosk-certs', component: () => import('./kiosk/cert/CertTypes.vue'), meta: { title: 'certs.title' } },
      { path: 'certificates/:code', name: 'kiosk-cert', component: () => import('./kiosk/cert/CertIssue.vue'), props: true, meta: { title: 'certs.title' } },
      { path: ':rest(.*)*', redirect: '/kiosk' },
    ],
  },
  { path: '/counter/login', name: 'counter-login', component: () => import('./counter/LoginView.vue'), meta: { title: 'login.submit' } },
  {
    path: '/counter',
    component: () => import('./counter/CounterLayout.vue'),
    meta: { staff: true },
    children: [
      { path: '', redirect: '/counter/work' },
      { path: 'work', name: 'counter-work', component: () => import('./counter/WorkList.vue'), meta: { title: 'counter.work' } },
      { path: 'intake', name: 'counter-intake', component: () => import('./counter/IntakeWizard.vue'), meta: { title: 'counter.intake' } },
      {
        path: 'applications/:id',
        name: 'counter-app',
        component: () => import('./counter/AppDetail.vue'),
        props: true,
        meta: { title: 'page.app' },
      },
      { path: 'certificates', name: 'counter-certs', component: () => import('./counter/CertList.vue'), meta: { title: 'counter.certs' } },
      { path: 'certificates/new', name: 'counter-cert-new', component: () => import('./counter/CertIssue.vue'), meta: { title: 'certs.title' } },
      { path: 'certificates/:id', name: 'counter-cert', component: () => import('./counter/CertDetail.vue'), props: true, meta: { title: 'page.cert' } },
      { path: ':rest(.*)*', redirect: '/counter/work' },
    ],
  },
  {
    path: '/setup',
    name: 'setup',
    component: () => import('./setup/SetupView.vue'),
    meta: { title: 'setup.title' },
    // A station without accounts shows the first-run wizard here (setup/firstRun.ts).
    beforeEnter: () => import('./setup/firstRun').then((m) => m.checkFirstRun()),
  },
  { path: '/setup/:rest(.*)*', redirect: '/setup' },
  // The department console, served by the data center's hub (syncer/hub/console).
  { path: '/hub/login', name: 'hub-login', component: () => import('./hub/HubLogin.vue'), meta: { title: 'login.submit' } },
  {
    path: '/hub',
    component: () => import('./hub/HubLayout.vue'),
    meta: { hub: true },
    children: [
      { path: '', name: 'hub-home', redirect: () => homeOf(hubUser.value) },
      { path: 'pending', name: 'hub-pending', component: () => import('./hub/HubList.vue'), props: { list: 'pending' }, meta: { title: 'hub.pending', hubRole: 'clerk' } },
      { path: 'decided', name: 'hub-decided', component: () => import('./hub/HubList.vue'), props: { list: 'decided' }, meta: { title: 'hub.decided', hubRole: 'clerk' } },
      {
        path: 'applications/:station/:id',
        name: 'hub-app',
        component: () => import('./hub/HubDetail.vue'),
        props: true,
        meta: { title: 'page.hubApp', hubRole: 'clerk' },
      },
      { path: 'admin', name: 'hub-admin', component: () => import('./hub/HubAdmin.vue'), meta: { title: 'hub.stations', hubRole: 'admin' } },
      { path: ':rest(.*)*', redirect: '/hub' },
    ],
  },
  { path: '/:rest(.*)*', redirect: '/kiosk' },
]

export const router = createRouter({
  history: createWebHistory('/'),
  routes,
  scrollBehavior: () => ({ top: 0 }),
})

installUnauthorizedRedirect((next) => {
  if (router.currentRoute.value.name !== 'counter-login') {
    void router.replace({ name: 'counter-login', query: next.startsWith('/counter') ? { next } : {} })
  }
})

installHubUnauthorizedRedirect((next) => {
  if (router.currentRoute.value.name !== 'hub-login') {
    void router.replace({ name: 'hub-login', query: next.startsWith('/hub/') ? { next } : {} })
  }
})

router.beforeEach(async (to, from) => {
  // The kiosk starts in Chinese; the staff screens take the language the staff member chose.
  const kioskArea = (p: string) => p.startsWith('/kiosk')
  if (!kioskArea(to.path)) loadStaffLocale()
  else if (!from.matched.length || !kioskArea(from.path)) resetKioskLocale()
  if (to.matched.some((r) => r.meta.hub)) {
    if (!(await ensureHubSession())) {
      return { name: 'hub-login', query: to.fullPath.startsWith('/hub/') ? { next: to.fullPath } : {} }
    }
    // A page of the other role sends the account to its own start page.
    const role = to.meta.hubRole
    if (typeof role === 'string' && hubUser.value?.role !== role) return homeOf(hubUser.value)
  }
  if (to.matched.some((r) => r.meta.staff)) {
    if (!(await ensureSession())) {
      return { name: 'counter-login', query: to.fullPath !== '/counter/work' ? { next: to.fullPath } : {} }
    }
  }
  return true
})

// The window title: the page's title (a message key in meta.title), the area and the product, in the
// screen language; it follows a language switch.
function setTitle() {
  const to = router.currentRoute.value
  const page = typeof to.meta.title === 'string' ? t(to.meta.title as MessageKey) : ''
  const area = to.path.startsWith('/hub')
    ? t('doc.hub')
    : to.path.startsWith('/counter')
      ? t('doc.counter')
      : to.path.startsWith('/setup')
        ? t('doc.setup')
        : t('doc.kiosk')
  document.title = page ? `${page} · ${area}` : area
}
router.afterEach(setTitle)
watch(locale, setTitle)
