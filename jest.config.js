'use strict';

// sfdx-lwc-jest finds components only under `<package dir>/**/lwc`. Our components live in
// the package directory `lwc` itself, so `c/<name>` is mapped explicitly. `lightning/*` modules
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
        '^c/(.+)$': '<rootDir>/lwc/$1/$1',
        '^lightning/empApi$': '<rootDir>/jest-mocks/lightning/empApi',
        '^lightning/navigation$': '<rootDir>/jest-mocks/lightning/navigation',
        '^test/utils$': '<rootDir>/jest-mocks/testUtils'
    },
    setupFilesAfterEnv: [
        ...(jestConfig.setupFilesAfterEnv || []),
        '<rootDir>/jest-mocks/setupTests.js'
    ],
    collectCoverageFrom: [
        'lwc/**/*.js',
        '!lwc/**/__tests__/**',
        '!lwc/**/*.html',
        '!lwc/**/*.css'
    ],
    // The Python side of the repository is no business of Jest's.
    modulePathIgnorePatterns: PYTHON_SIDE,
    testPathIgnorePatterns: [
        ...jestConfig.testPathIgnorePatterns,
        ...PYTHON_SIDE
    ]
};
