/**
 * lightning/uiRecordApi over the org's User Interface API (`/ui-api/records`): the getRecord wire
 * adapter, getFieldValue / getFieldDisplayValue, createRecord, updateRecord, deleteRecord and
 * notifyRecordUpdateAvailable.
 */
import { callApi } from './http';
import { refreshRecords, unwatch, watch } from './records';

function qualified(field) {
    if (!field) {
        return undefined;
    }
    if (typeof field === 'string') {
        return field;
    }
    return `${field.objectApiName}.${field.fieldApiName}`;
}

function fieldList(fields) {
    if (!fields) {
        return [];
    }
    return (Array.isArray(fields) ? fields : [fields])
        .map(qualified)
        .filter(Boolean);
}

/** The getRecord wire adapter: `{ recordId, fields, optionalFields }`. */
export class getRecord {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
        this.connected = false;
        this.config = undefined;
        this.sequence = 0;
    }

    get recordId() {
        return this.config && this.config.recordId;
    }

    update(config) {
        this.config = config;
        if (this.connected) {
            this.refresh();
        }
    }

    connect() {
        this.connected = true;
        watch(this);
        if (this.config) {
            this.refresh();
        }
    }

    disconnect() {
        this.connected = false;
        unwatch(this);
    }

    refresh() {
        const config = this.config || {};
        const fields = fieldList(config.fields);
        const optionalFields = fieldList(config.optionalFields);
        if (
            !config.recordId ||
            (fields.length === 0 && optionalFields.length === 0)
        ) {
            return Promise.resolve();
        }
        const params = new URLSearchParams();
        if (fields.length) {
            params.set('fields', fields.join(','));
        }
        if (optionalFields.length) {
            params.set('optionalFields', optionalFields.join(','));
        }
        const sequence = ++this.sequence;
        return callApi(
            'GET',
            `/ui-api/records/${encodeURIComponent(config.recordId)}?${params}`
        ).then(
            (data) => this.deliver(sequence, { data, error: undefined }),
            (error) => this.deliver(sequence, { data: undefined, error })
        );
    }

    deliver(sequence, value) {
        // Only the newest read of a connected adapter is delivered.
        if (this.connected && sequence === this.sequence) {
            this.dataCallback(value);
        }
    }
}

function valueOf(record, field, property) {
    const path = qualified(field);
    if (!record || !path) {
        return undefined;
    }
    const parts = path.split('.');
    // "Account.Owner.Name": the first part names the record's object
    if (parts.length > 1 && parts[0] === record.apiName) {
        parts.shift();
    }
    let current = record;
    for (let index = 0; index < parts.length; index++) {
        const entry = current && current.fields && current.fields[parts[index]];
        if (!entry) {
            return undefined;
        }
        if (index === parts.length - 1) {
            return entry[property];
        }
        current = entry.value;
    }
    return undefined;
}

export function getFieldValue(record, field) {
    return valueOf(record, field, 'value');
}

export function getFieldDisplayValue(record, field) {
    return valueOf(record, field, 'displayValue');
}

/** `createRecord({ apiName, fields })`: the created record's representation. */
export async function createRecord(recordInput) {
    const record = await callApi('POST', '/ui-api/records', {
        apiName: recordInput.apiName,
        fields: recordInput.fields || {}
    });
    return record;
}

/** `updateRecord({ fields: { Id, ... } })`: the updated record; wired copies are re-read. */
export async function updateRecord(recordInput) {
    const { Id, ...fields } = (recordInput && recordInput.fields) || {};
    const record = await callApi(
        'PATCH',
        `/ui-api/records/${encodeURIComponent(Id)}`,
        { fields }
    );
    await refreshRecords([Id]);
    return record;
}

export async function deleteRecord(recordId) {
    await callApi('DELETE', `/ui-api/records/${encodeURIComponent(recordId)}`);
}

/** Re-reads the given records (`[{ recordId }]`) wherever a component shows them. */
export function notifyRecordUpdateAvailable(recordIds) {
    return refreshRecords((recordIds || []).map((item) => item.recordId));
}

/** The older name of notifyRecordUpdateAvailable. */
export function getRecordNotifyChange(recordIds) {
    return notifyRecordUpdateAvailable(recordIds);
}
