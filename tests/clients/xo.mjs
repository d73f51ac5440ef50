// Xen Orchestra's own XAPI client (npm xen-api) against a live hasvcd.
//
//   node xo.mjs URL USER PASSWORD TRANSPORT VM_NAME
//
// Runs the client's whole connect sequence (login, pool.get_all_records,
// system.listMethods, event.inject, every <type>.get_all_records, the
// event.from loop), lists hosts and VMs, sets VM_NAME's ha_restart_priority
// with call(), and waits until the change arrives through the client's own
// event loop; then a barrier (pool.add_to_other_config + its event) and a
// clean disconnect.  Exit 0 on success; any failure prints why and exits 1.
import { createClient } from 'xen-api'

const [url, user, password, transport, vmName] = process.argv.slice(2)
const fail = (msg) => {
  console.error(`xo(${transport}): FAIL: ${msg}`)
  process.exit(1)
}
const watchdog = setTimeout(() => fail('timed out after 60 s'), 60000)

const xapi = createClient({
  url,
  allowUnauthorized: true,
  auth: { user, password },
  transport,
  readOnly: false,
})

try {
  await xapi.connect()
  console.log(`xo(${transport}): connected, status ${xapi.status}`)
  await xapi.objectsFetched
  const all = Object.values(xapi.objects.all)
  const of = (type) => all.filter((o) => o.$type === type)
  const hosts = of('host')
  const vms = of('VM')
  if (of('pool').length !== 1) fail(`expected one pool, got ${of('pool').length}`)
  if (hosts.length < 1) fail('no host')
  if (vms.length < 1) fail('no VM')
  console.log(`xo(${transport}): pool ${xapi.pool.name_label}, master ${xapi.pool.$master?.name_label}`)
  for (const h of hosts) console.log(`xo(${transport}): host ${h.name_label} ${h.address}`)
  for (const v of vms)
    console.log(`xo(${transport}): VM ${v.name_label} ${v.power_state} priority=${JSON.stringify(v.ha_restart_priority)}`)

  const vm = vms.find((v) => v.name_label === vmName)
  if (vm === undefined) fail(`no VM named ${vmName}`)
  const want = vm.ha_restart_priority === 'restart' ? 'best-effort' : 'restart'
  const seen = new Promise((resolve) => {
    xapi.objects.on('update', (objects) => {
      for (const o of Object.values(objects))
        if (o.$ref === vm.$ref && o.ha_restart_priority === want) resolve(o)
    })
  })
  await xapi.call('VM.set_ha_restart_priority', vm.$ref, want)
  const updated = await seen
  console.log(`xo(${transport}): event loop saw ${updated.name_label} ha_restart_priority=${updated.ha_restart_priority}`)

  // A read straight from the server agrees.
  const direct = await xapi.call('VM.get_ha_restart_priority', vm.$ref)
  if (direct !== want) fail(`VM.get_ha_restart_priority returned ${direct}`)

  // Errors come back as XapiError with XAPI's code.
  try {
    await xapi.call('VM.set_ha_restart_priority', vm.$ref, 'always')
    fail('an invalid priority was accepted')
  } catch (e) {
    if (e.code !== 'INVALID_VALUE') fail(`invalid priority gave ${e.code}, not INVALID_VALUE`)
    console.log(`xo(${transport}): invalid priority refused with ${e.code} ${JSON.stringify(e.params)}`)
  }

  await xapi.barrier()
  console.log(`xo(${transport}): barrier passed`)
  await xapi.disconnect()
  console.log(`xo(${transport}): OK`)
  clearTimeout(watchdog)
  process.exit(0)
} catch (e) {
  fail(e?.stack ?? String(e))
}
