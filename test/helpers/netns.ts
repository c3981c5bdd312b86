// The namespace and veth helpers live with the test bed (src/testbed), which the
// `npm start` demo uses at runtime; tests import them from here as before.
export * from '../../src/testbed/netns';
