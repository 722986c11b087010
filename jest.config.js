'use strict';

// sfdx-lwc-jest finds components under `<package dir>/**/lwc`; the components live in the UI
// package's `ui/lwc`, and `c/<name>` is mapped there explicitly. `lightning/*` modules
// whose built-in stubs lack test controls are mapped to our mocks in `jest-mocks/lightning`.
const { jestConfig } = require('@salesforce/sfdx-lwc-jest/config');

const PYTHON_SIDE = [
    '<rootDir>/.venv/',
    '<rootDir>/var/',
    '<rootDir>/service/',
    '<rootDir>/tests/',
    '<rootDir>/bench/',
    // The Lightning preview's build output (docs/preview.md)
    '<rootDir>/preview/dist/'
];

module.exports = {
    ...jestConfig,
    // Only *.test.js: __tests__ folders may also hold data and helpers shared by a
    // component's test files.
    testMatch: ['**/__tests__/**/*.test.js'],
    moduleNameMapper: {
        '^c/(.+)$': '<rootDir>/ui/lwc/$1/$1',
        '^lightning/empApi$': '<rootDir>/jest-mocks/lightning/empApi',
        '^lightning/navigation$': '<rootDir>/jest-mocks/lightning/navigation',
        '^lightning/messageService$':
            '<rootDir>/jest-mocks/lightning/messageService',
        '^lightning/modal$': '<rootDir>/jest-mocks/lightning/modal',
        '^test/utils$': '<rootDir>/jest-mocks/testUtils'
    },
    setupFilesAfterEnv: [
        ...(jestConfig.setupFilesAfterEnv || []),
        '<rootDir>/jest-mocks/setupTests.js'
    ],
    collectCoverageFrom: [
        'ui/lwc/**/*.js',
        '!ui/lwc/**/__tests__/**',
        '!ui/lwc/**/*.html',
        '!ui/lwc/**/*.css'
    ],
    // The Python side of the repository is no business of Jest's.
    modulePathIgnorePatterns: PYTHON_SIDE,
    testPathIgnorePatterns: [
        ...jestConfig.testPathIgnorePatterns,
        ...PYTHON_SIDE
    ]
};
