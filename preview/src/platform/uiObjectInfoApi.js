/**
 * lightning/uiObjectInfoApi over the org's User Interface API (`/ui-api/object-info`):
 * getObjectInfo, getPicklistValuesByRecordType and getPicklistValues.
 */
import { callApi } from './http';
import { objectName, readAdapter } from './wire';

const objectInfos = new Map();

function readObjectInfo(name) {
    if (!objectInfos.has(name)) {
        const pending = callApi(
            'GET',
            `/ui-api/object-info/${encodeURIComponent(name)}`
        );
        pending.catch(() => objectInfos.delete(name));
        objectInfos.set(name, pending);
    }
    return objectInfos.get(name);
}

function readPicklists(name, recordTypeId) {
    return callApi(
        'GET',
        `/ui-api/object-info/${encodeURIComponent(name)}/picklist-values/${encodeURIComponent(recordTypeId)}`
    );
}

export const getObjectInfo = readAdapter((config) => {
    const name = objectName(config.objectApiName);
    return name ? readObjectInfo(name) : undefined;
});

export const getPicklistValuesByRecordType = readAdapter((config) => {
    const name = objectName(config.objectApiName);
    return name && config.recordTypeId
        ? readPicklists(name, config.recordTypeId)
        : undefined;
});

export const getPicklistValues = readAdapter((config) => {
    const field = config.fieldApiName;
    if (!field || !config.recordTypeId) {
        return undefined;
    }
    const name =
        typeof field === 'object'
            ? field.objectApiName
            : `${field}`.split('.')[0];
    const fieldName =
        typeof field === 'object'
            ? field.fieldApiName
            : `${field}`.split('.')[1];
    return readPicklists(name, config.recordTypeId).then(
        (all) => all.picklistFieldValues[fieldName]
    );
});
