import {
    accountCurrency,
    USER_CURRENCY,
    daysPastDue,
    formatCurrency,
    formatDate,
    formatLabel,
    sameRecordId,
    statusPresentation,
    todayIso
} from 'c/creditUtils';

describe('c/creditUtils', () => {
    it('presents each credit status', () => {
        expect(statusPresentation('OK').label).toBe('c.CC_Status_OK');
        expect(statusPresentation('WATCH').badgeClass).toContain(
            'slds-theme_warning'
        );
        expect(statusPresentation('HOLD').iconName).toBe('utility:ban');
        expect(statusPresentation('UNKNOWN')).toBeUndefined();
    });

    it('fills label placeholders', () => {
        expect(formatLabel('{0} of {1} ({0})', 'a', 2)).toBe('a of 2 (a)');
        expect(formatLabel('{0}-{1}', 'a')).toBe('a-');
        expect(formatLabel(undefined)).toBe('');
    });

    it('formats money and dates in the user locale', () => {
        expect(formatCurrency(12400)).toBe('$12,400.00');
        expect(formatCurrency(9200, 'EUR')).toBe('€9,200.00');
        expect(formatCurrency(null)).toBe('');
        expect(formatCurrency(5, 'NOT-A-CODE')).toBe('5');
        expect(formatDate('2026-12-01')).toBe('Dec 01, 2026');
        expect(formatDate(undefined)).toBe('');
    });

    it('compares 15- and 18-character ids', () => {
        expect(sameRecordId('001RM000003UNu6YAG', '001RM000003UNu6')).toBe(
            true
        );
        expect(sameRecordId('001RM000003UNu6YAG', '001RM000003UNU6YAG')).toBe(
            false
        );
        expect(sameRecordId(undefined, '001RM000003UNu6YAG')).toBe(false);
    });

    it('counts days past due', () => {
        expect(daysPastDue('2026-09-10', '2026-11-23')).toBe(74);
        expect(daysPastDue('2026-12-10', '2026-11-23')).toBe(0);
        expect(daysPastDue(undefined, '2026-11-23')).toBeUndefined();
        expect(todayIso(new Date(2026, 0, 5))).toBe('2026-01-05');
    });

    describe('accountCurrency', () => {
        const record = (fields) => ({
            fields: Object.fromEntries(
                Object.entries(fields).map(([k, v]) => [k, { value: v }])
            )
        });

        it('is the currency the service wrote the figures in', () => {
            expect(
                accountCurrency(
                    record({
                        Credit_Currency__c: 'GBP',
                        CurrencyIsoCode: 'EUR'
                    })
                )
            ).toBe('GBP');
        });

        it("is the record's currency in a multi-currency org without it", () => {
            expect(accountCurrency(record({ CurrencyIsoCode: 'CHF' }))).toBe(
                'CHF'
            );
        });

        it("is the user's currency when the Account says nothing", () => {
            expect(accountCurrency(record({}))).toBe(USER_CURRENCY);
            expect(accountCurrency(undefined)).toBe(USER_CURRENCY);
        });

        it('ignores a value that is not an ISO currency code', () => {
            expect(
                accountCurrency(
                    record({
                        Credit_Currency__c: 'pounds',
                        CurrencyIsoCode: 'CHF'
                    })
                )
            ).toBe('CHF');
            expect(accountCurrency(record({ Credit_Currency__c: 42 }))).toBe(
                USER_CURRENCY
            );
        });

        it('formats a GBP amount with the pound sign', () => {
            expect(
                formatCurrency(
                    12400,
                    accountCurrency(record({ Credit_Currency__c: 'GBP' }))
                )
            ).toBe('£12,400.00');
        });
    });
});
