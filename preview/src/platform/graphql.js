/**
 * lightning/graphql over the org's GraphQL API (`POST /graphql`): `gql` and the `graphql` wire
 * adapter, which delivers `{ data, errors, refresh }`; `refresh()` runs the query again.
 */
import { callApi } from './http';

export function gql(strings, ...values) {
    return strings.reduce(
        (text, part, index) =>
            text + part + (index < values.length ? values[index] : ''),
        ''
    );
}

function messages(error) {
    if (error && Array.isArray(error.body)) {
        return error.body.map((entry) => ({ message: entry.message }));
    }
    return [{ message: (error && error.statusText) || `${error}` }];
}

export class graphql {
    constructor(dataCallback) {
        this.dataCallback = dataCallback;
        this.connected = false;
        this.config = undefined;
        this.sequence = 0;
        this.refreshHandle = () => this.refresh();
    }

    update(config) {
        this.config = config;
        if (this.connected) {
            this.refresh();
        }
    }

    connect() {
        this.connected = true;
        if (this.config) {
            this.refresh();
        }
    }

    disconnect() {
        this.connected = false;
    }

    refresh() {
        const { query, variables, operationName } = this.config || {};
        if (!query) {
            return Promise.resolve();
        }
        const sequence = ++this.sequence;
        const deliver = (value) => {
            if (this.connected && sequence === this.sequence) {
                this.dataCallback({ ...value, refresh: this.refreshHandle });
            }
        };
        return callApi('POST', '/graphql', {
            query,
            variables: variables || {},
            ...(operationName ? { operationName } : {})
        }).then(
            (result) => {
                const errors =
                    result.errors && result.errors.length
                        ? result.errors
                        : undefined;
                deliver({ data: result.data || undefined, errors });
            },
            (error) => deliver({ data: undefined, errors: messages(error) })
        );
    }
}

/** Runs a delivered query again (`refreshGraphQL(result)`). */
export function refreshGraphQL(result) {
    return result && result.refresh ? result.refresh() : Promise.resolve();
}
