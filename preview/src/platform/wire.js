/**
 * A wire adapter that reads one resource: `read(config)` resolves with the data, or returns
 * undefined while the config is incomplete. Delivers `{ data, error }` as LDS does.
 */
export function readAdapter(read) {
    return class {
        constructor(dataCallback) {
            this.dataCallback = dataCallback;
            this.connected = false;
            this.config = undefined;
            this.sequence = 0;
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
            const pending = read(this.config || {});
            if (!pending) {
                return Promise.resolve();
            }
            const sequence = ++this.sequence;
            const deliver = (value) => {
                if (this.connected && sequence === this.sequence) {
                    this.dataCallback(value);
                }
            };
            return pending.then(
                (data) => deliver({ data, error: undefined }),
                (error) => deliver({ data: undefined, error })
            );
        }
    };
}

export function objectName(objectApiName) {
    return objectApiName && typeof objectApiName === 'object'
        ? objectApiName.objectApiName
        : objectApiName;
}
