/**
 * A small Lightning Data Service: the wire adapters that read records register here, so that
 * `notifyRecordUpdateAvailable` and the record writes re-read every record a component shows.
 */
const watchers = new Set();

function key(recordId) {
    return recordId ? `${recordId}`.substring(0, 15) : '';
}

export function watch(adapter) {
    watchers.add(adapter);
}

export function unwatch(adapter) {
    watchers.delete(adapter);
}

/** Re-reads every wired record among `recordIds`; resolves when all have been delivered. */
export function refreshRecords(recordIds) {
    const wanted = new Set(recordIds.map(key));
    const reads = [...watchers]
        .filter((adapter) => wanted.has(key(adapter.recordId)))
        .map((adapter) => adapter.refresh());
    return Promise.all(reads).then(() => undefined);
}
