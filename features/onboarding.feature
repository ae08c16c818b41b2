@onboarding
Feature: Onboarding: discovery, app-only tokens and certificate authentication (steps 1-3)
  A NAC finds the Intune service through discovery, authenticates as an application with a token
  for the right audience, reuses that token, and never grants access on Intune's behalf when its
  app registration lacks a permission.

  @ONB-01 @cr-cisco @legacy-cisco @legacy-json
  Scenario: The NAC discovers the service endpoint before its first compliance query
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    Then the NAC found the service endpoint through discovery before its first query

  @ONB-01 @cr-cisco @legacy-cisco @legacy-json
  Scenario: The NAC follows the service endpoint when it moves
    Given a device "laptop" that is compliant
    And a device "phone" that is compliant
    When "laptop" connects over Wi-Fi
    And the service endpoint moves
    And 2 minutes pass
    And "phone" connects over Wi-Fi
    And 2 minutes pass
    And "phone" connects again
    Then the NAC follows the moved endpoint after re-discovery

  @ONB-02 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: The NAC presents an app-only token of the right audience to each service
    Given a device "laptop" that is compliant
    And a device "stranger" that is unknown to Intune
    When "laptop" connects over Wi-Fi
    And "stranger" connects over Wi-Fi
    And the declared polling interval passes
    Then every call carried an app-only bearer token for the right audience

  @ONB-03 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: One token serves many queries until it nears expiry
    Given a device "laptop" that is compliant
    And a device "phone" that is noncompliant
    And a device "tablet" that is not enrolled
    When "laptop" connects over Wi-Fi
    And "phone" connects over Wi-Fi
    And 10 minutes pass
    And "tablet" connects over VPN
    And "phone" connects again
    And 2 hours pass
    And "phone" connects again
    Then one token served the queries until near its expiry

  @ONB-03 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: On a 401 the NAC refreshes its token and retries once, never looping
    Given a device "laptop" that is compliant
    And the NAC under test is onboarded
    And Intune rejects every token with HTTP 401
    When "laptop" connects over Wi-Fi
    And 1 minute passes
    And "laptop" connects again
    Then the NAC refreshed the token and retried once, never looping on 401

  @ONB-04 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: The NAC authenticates with a signed client assertion of its registered certificate
    Given a device "laptop" that is compliant
    When "laptop" connects over Wi-Fi
    And 2 hours pass
    And "laptop" connects again
    Then the NAC authenticated with a short-lived RS256 assertion of its registered certificate
    And the mock rejects forged, expired, replayed and wrongly-addressed assertions

  @ONB-05 @cr-cisco @legacy-cisco @legacy-json @graph
  Scenario: Without the permission to read compliance, the NAC grants nothing on Intune's behalf
    Given a device "laptop" that is compliant
    And the app registration lacks the get_device_compliance permission
    And the app registration lacks the DeviceManagementManagedDevices.Read.All permission
    When "laptop" connects over Wi-Fi
    Then "laptop" gets no access on the strength of Intune and the NAC reports an integration error

  @ONB-05 @cr-cisco @legacy-cisco @legacy-json
  Scenario: Without the permission to read the discovery endpoints, the NAC grants nothing
    Given a device "laptop" that is compliant
    And the app registration lacks the Application.Read.All permission
    When "laptop" connects over Wi-Fi
    Then "laptop" gets no access on the strength of Intune and the NAC reports an integration error
